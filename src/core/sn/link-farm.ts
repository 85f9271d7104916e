import { chmodSync, chownSync, copyFileSync, lchownSync, lstatSync, lutimesSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { tempNameFor } from "../fs/atomic";
import { runTool } from "../proc/run-tool";

/**
 * The staged copy of a changed image, before rsync fills it: a hard link of every served file
 * (`cp -al`), so rsync finds the unchanged ones in place and skips them. That is ~30 % faster
 * than `--link-dest`, which compares each file with its twin, ACLs and xattrs included, before
 * linking it (docs/bench/sn.md). rsync writes a file whose content changed under a temporary
 * name and renames it, which breaks the link; but it changes an unchanged file's owner, mode,
 * times, xattrs or ACL in place, which would change the served copy before the switch. So each
 * such file the comparison listed (`.f…` / `.L…` lines of --itemize-changes) gets its own
 * inode first: the same bytes, owner, mode and mtime, for rsync to correct.
 *
 * Returns false, with nothing left at `staged`, when the list cannot be acted on (an escaped
 * name, a device whose attributes change): the caller then stages with --link-dest as before.
 */
export async function linkFarm(served: string, staged: string, changes: readonly string[], signal?: AbortSignal): Promise<boolean> {
  const own: string[] = [];
  for (const line of changes) {
    const m = /^\.([fdLDS])[.cstpoguax+?]{9} (.+)$/.exec(line);
    if (!m) continue;
    const [, type, path] = m as unknown as [string, string, string];
    if (type === "d") continue; // cp -al makes new directories
    // rsync writes unusual bytes in a name as \#ooo; devices and fifos are not worth a copy
    if (path.includes("\\#") || type === "D" || type === "S") return false;
    // names come from the MN's rsync: never one that could leave the staged copy
    if (path.startsWith("/") || path.split("/").includes("..")) return false;
    own.push(path);
  }
  const r = await runTool(["cp", "-al", "--", served, staged], { signal });
  if (r.code !== 0) {
    rmSync(staged, { recursive: true, force: true });
    return false;
  }
  try {
    for (const p of own) ownInode(join(staged, p));
  } catch {
    rmSync(staged, { recursive: true, force: true });
    return false;
  }
  return true;
}

function ownInode(path: string): void {
  const st = lstatSync(path);
  const temp = tempNameFor(path);
  try {
    if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(path), temp);
      lchownSync(temp, st.uid, st.gid);
      lutimesSync(temp, st.atime, st.mtime);
    } else {
      copyFileSync(path, temp);
      chownSync(temp, st.uid, st.gid);
      // chown clears setuid bits: the mode comes after it, the times last
      chmodSync(temp, st.mode & 0o7777);
      utimesSync(temp, st.atime, st.mtime);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}
