import { memoryCpio } from "../pack/cpio";
import { INIT_SCRIPT } from "./init-script";

/**
 * initrd-stateless.gz: xcimg's generic boot initrd (the name xCAT gives the stateless initrd,
 * so imgexport/imgimport and rmimage find it where they expect). Besides /init it holds
 * /dev/console and /dev/null: the kernel opens /dev/console in the initramfs for /init's
 * output before anything can mount devtmpfs, and captured images usually leave /dev empty.
 */
export function bootInitrd(mtime = 0): Buffer {
  const cpio = memoryCpio(
    [
      { name: "dev", mode: 0o040755 },
      { name: "dev/console", mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
      { name: "dev/null", mode: 0o020666, rdevMajor: 1, rdevMinor: 3 },
      { name: "init", mode: 0o100755, data: INIT_SCRIPT },
    ],
    mtime,
  );
  return Buffer.from(Bun.gzipSync(cpio as Uint8Array<ArrayBuffer>, { level: 9 }));
}
