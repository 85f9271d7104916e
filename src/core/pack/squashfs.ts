import { chmodSync, chownSync, mkdirSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fsError, IOFailure, NotFoundError } from "../errors";
import type { TreeTop } from "../image/tree-barrier";
import type { Compression } from "./compress";
import type { TreeEntry } from "./walk";

/**
 * `-m squashfs`: xCAT copies the filtered tree into /tmp with `cpio -dump` and runs
 * mksquashfs on the copy. We stage next to rootimg/ (same filesystem) with `cpio -p -l`, which
 * hard-links files instead of copying them, so staging costs no data copy and file xattrs
 * (an inode property) come along; mksquashfs then packs the staging tree.
 *
 * The links are the image's setuid programs and device nodes and rootimgdir is web-served, so
 * the copy sits in a 0700 directory; its root gets the node's `/` (`top`, see
 * image/tree-barrier.ts) just before mksquashfs reads it.
 */
export async function writeSquashfs(
  root: string,
  rootimgdir: string,
  entries: readonly TreeEntry[],
  out: string,
  compression: Compression,
  top: TreeTop,
  signal?: AbortSignal,
): Promise<void> {
  for (const tool of ["mksquashfs", "cpio"]) {
    if (!Bun.which(tool)) throw new NotFoundError(`${tool} not found, squashfs-tools and cpio should be installed on the management node`);
  }
  const staging = join(rootimgdir, `.xcimg-sfs.${process.pid}`);
  const copy = join(staging, "root");
  rmSync(staging, { recursive: true, force: true });
  try {
    try {
      mkdirSync(staging, { mode: 0o700 });
    } catch (e) {
      throw fsError(e, `cannot create ${staging}`);
    }
    const list: Buffer[] = [];
    for (const e of entries) list.push(e.rel, Buffer.from([0]));
    await run(["cpio", "-p", "-d", "-m", "-l", "--null", "--quiet", copy], root, Buffer.concat(list), signal);
    try {
      chownSync(copy, top.uid, top.gid);
      chmodSync(copy, top.mode);
    } catch (e) {
      throw fsError(e, `cannot set the mode of ${copy}`);
    }
    const argv = ["mksquashfs", copy, out, "-noappend", "-comp", compression, "-processors", String(availableParallelism()), "-no-progress", "-quiet"];
    await run(argv, rootimgdir, undefined, signal);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function run(argv: string[], cwd: string, input: Buffer | undefined, signal?: AbortSignal): Promise<void> {
  const proc = Bun.spawn(argv, { cwd, stdin: input ? new Blob([input]) : "ignore", stdout: "pipe", stderr: "pipe" });
  const kill = () => proc.kill();
  signal?.addEventListener("abort", kill);
  try {
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) {
      // one line: what the tool said (a full disk reads "Write failed because No space left on device")
      const said = (out + err).trim().split("\n").filter(Boolean).join("; ");
      throw new IOFailure(`${argv[0]} failed (exit ${code}): ${said || "no message"}`);
    }
  } finally {
    signal?.removeEventListener("abort", kill);
  }
}
