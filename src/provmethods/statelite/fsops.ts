import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { fsError, InterruptedError, IOFailure } from "../../core/errors";
import { lstatOrNull } from "../../core/image/image-root";

/**
 * The file operations liteimg performs, on host paths already resolved inside the image.
 * Everything is node:fs except copying: `cp -a` keeps owner, mode, timestamps, symlinks,
 * hardlinks within the copy, sparse files, ACLs, SELinux labels and file capabilities
 * (xattrs), and node:fs can read/write none of the xattrs (fs.cp also drops ownership).
 * One `cp` child per litefile entry, not per file, so a whole /etc/ is one process.
 */

/** mkdir -p, with 0755 for what it creates whatever the umask (xCAT ran under xcatd's 022). */
export function mkdirp(host: string): void {
  const missing: string[] = [];
  let p = host;
  while (!lstatOrNull(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
      chmodSync(d, 0o755);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(e, `cannot create directory ${d}`);
    }
  }
}

/** touch for a missing file: an empty 0644 file (an existing one is left alone). */
export function touch(host: string): void {
  if (lstatOrNull(host)) return;
  try {
    closeSync(openSync(host, "wx", 0o644));
    chmodSync(host, 0o644);
  } catch (e) {
    throw fsError(e, `cannot create ${host}`);
  }
}

/** rm -rf of exactly this path (a symlink is removed, never followed). */
export function rmrf(host: string): void {
  try {
    rmSync(host, { recursive: true, force: true });
  } catch (e) {
    throw fsError(e, `cannot remove ${host}`);
  }
}

/**
 * `ln -sfn target host`, except that an existing real directory at `host` is replaced rather
 * than receiving the link inside it (GNU ln's behaviour, which gives xCAT nested
 * ".statelite/tmpfs/var/var" links on some re-runs). Other files are replaced atomically.
 */
export function symlinkReplace(target: string, host: string): void {
  const st = lstatOrNull(host);
  try {
    if (st?.isDirectory()) rmSync(host, { recursive: true, force: true });
    const tmp = `${host}.xcimg-${process.pid}`;
    rmSync(tmp, { force: true });
    symlinkSync(target, tmp);
    renameSync(tmp, host);
  } catch (e) {
    throw fsError(e, `cannot create symbolic link ${host} -> ${target}`);
  }
}

export function unlinkIfPresent(host: string): void {
  try {
    unlinkSync(host);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw fsError(e, `cannot remove ${host}`);
  }
}

/**
 * `cp -a` of src to exactly dst (`-T`: dst is the copy's name, an existing directory is
 * merged into like `cp -r -a src parentdir/`). A destination of the other type (file vs
 * directory, or a symlink where a directory goes) is removed first instead of making cp fail;
 * a symlink inside the destination is replaced, never written through.
 */
export async function copyA(src: string, dst: string, signal?: AbortSignal): Promise<void> {
  const s = lstatOrNull(src);
  if (!s) throw new IOFailure(`cannot copy ${src}: it does not exist`);
  const d = lstatOrNull(dst);
  if (d && s.isDirectory() !== d.isDirectory()) rmrf(dst);
  mkdirp(dirname(dst));
  if (signal?.aborted) throw new InterruptedError("interrupted; run the command again to finish");
  // --remove-destination: never write through a symlink already at the destination (plain
  // `cp -a`, as liteimg runs it, follows a planted .default/etc/hosts -> /etc/passwd)
  const proc = Bun.spawn(["cp", "-a", "--remove-destination", "-T", "--", src, dst], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const onAbort = () => proc.kill("SIGTERM");
  signal?.addEventListener("abort", onAbort, { once: true });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  signal?.removeEventListener("abort", onAbort);
  if (signal?.aborted) throw new InterruptedError("interrupted; run the command again to finish");
  if (code !== 0) throw new IOFailure(`cp -a ${src} ${dst} failed: ${err.trim() || `exit ${code}`}`);
}
