import { memoryCpio } from "../archive/cpio";
import { INIT_SCRIPT } from "./init-script";

/**
 * initrd-stateless.gz: xcimg's generic boot initrd (the name xCAT gives the stateless initrd,
 * so imgexport/imgimport and rmimage find it where they expect). Besides /init it holds
 * /dev/console and /dev/null: the kernel opens /dev/console in the initramfs for /init's
 * output before anything can mount devtmpfs, and captured images usually leave /dev empty.
 * pack writes it next to the packed image and boot (core/boot/publish.ts) and sysclone
 * publish it; it lives below both because core/boot reads pack's outputs (core/pack/outputs.ts)
 * and core/pack must not import core/boot back.
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
