import { closeSync, copyFileSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsError } from "../errors";

/**
 * Files that nodes fetch while we replace them (packed images, kernels, boot configs) are
 * written under a temporary name in the same directory, fsynced, then renamed over the old
 * one: a reader sees the old file or the new one, never a half-written one, and a crash
 * leaves the old one (xCAT deleted first, so nodes booting meanwhile failed: issue #1940).
 */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.xcimg-tmp.${process.pid}.${Math.random().toString(36).slice(2, 8)}`);
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

/** Open a fresh temp file for `path`; commit() renames it into place, discard() removes it. */
export function atomicFile(path: string, mode = 0o644): { fd: number; temp: string; commit(): void; discard(): void } {
  const temp = tempNameFor(path);
  let fd: number;
  try {
    fd = openSync(temp, "wx", mode);
  } catch (e) {
    throw fsError(e, `cannot create ${temp}`);
  }
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      closeSync(fd);
    }
  };
  return {
    fd,
    temp,
    commit() {
      try {
        fsyncSync(fd);
        close();
        renameSync(temp, path);
      } catch (e) {
        this.discard();
        throw fsError(e, `cannot write ${path}`);
      }
      fsyncDir(dirname(path));
    },
    discard() {
      try {
        close();
      } catch {
        // already closed
      }
      rmSync(temp, { force: true });
    },
  };
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: { fsync?: boolean } = {}): void {
  const f = atomicFile(path, mode);
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(f.fd, buf, off, buf.length - off);
  } catch (e) {
    f.discard();
    throw fsError(e, `cannot write ${path}`);
  }
  if (opts.fsync === false) {
    // many small per-node files: the rename alone keeps readers safe
    closeSync(f.fd);
    try {
      renameSync(f.temp, path);
    } catch (e) {
      rmSync(f.temp, { force: true });
      throw fsError(e, `cannot write ${path}`);
    }
    return;
  }
  f.commit();
}

/**
 * Put `src`'s content at `dst` atomically: a hard link when both are on one filesystem (no
 * copy of a multi-GB image), else a copy. Returns how it was done.
 */
export function linkOrCopyAtomic(src: string, dst: string): "link" | "copy" {
  const temp = tempNameFor(dst);
  try {
    linkSync(src, temp);
    renameSync(temp, dst);
    // rename(2) between two links of one inode does nothing and leaves temp behind
    rmSync(temp, { force: true });
    return "link";
  } catch (e) {
    rmSync(temp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw fsError(e, `cannot place ${dst}`);
  }
  try {
    copyFileSync(src, temp);
    const st = statSync(src);
    utimesSync(temp, st.atime, st.mtime); // so sameFile() can tell the copy is current
    const fd = openSync(temp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, dst);
    return "copy";
  } catch (e) {
    rmSync(temp, { force: true });
    throw fsError(e, `cannot copy ${src} to ${dst}`);
  }
}

/**
 * Put a copy of `src` at `dst` atomically, never a hard link: for files taken out of a captured
 * tree (the kernel), where a link would change the tree file's link count, hence its ctime,
 * which capture reads as an edit on this management node and answers with a full capture.
 * Skipped when `dst` already has src's size and mtime.
 */
export function copyAtomic(src: string, dst: string): void {
  if (sameFile(src, dst) && statSync(src).ino !== statSync(dst).ino) return;
  const temp = tempNameFor(dst);
  try {
    copyFileSync(src, temp);
    const st = statSync(src);
    utimesSync(temp, st.atime, st.mtime);
    renameSync(temp, dst);
  } catch (e) {
    rmSync(temp, { force: true });
    throw fsError(e, `cannot copy ${src} to ${dst}`);
  }
}

/** True when a and b are the same file (same inode) or have the same size and mtime. */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return (sa.dev === sb.dev && sa.ino === sb.ino) || (sa.size === sb.size && sa.mtimeMs === sb.mtimeMs);
  } catch {
    return false;
  }
}

/**
 * Write `data` to `path` unless the file already holds exactly that (no rename, no inode
 * churn: rewriting 10,000 unchanged node files is a read each). Returns whether it wrote.
 */
export function writeFileIfChanged(path: string, data: string | Uint8Array, mode = 0o644): boolean {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  try {
    const st = statSync(path);
    if (st.size === buf.length && (st.mode & 0o7777) === mode && readFileSync(path).equals(buf)) return false;
  } catch {
    // absent: write it
  }
  writeFileAtomic(path, buf, mode, { fsync: false });
  return true;
}
