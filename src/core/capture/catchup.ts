import { linkSync, lstatSync, mkdirSync, rmSync, unlinkSync } from "node:fs";
import { IOFailure } from "../errors";

/**
 * Bring base/ (the tree before last) up to the live tree by replaying the paths the last
 * capture changed: each is hardlinked from the live tree, or removed when it is gone. Only
 * non-directories are replayed; directories, their metadata and whatever vanished are set
 * right by the next archive, which carries every directory with its full list of names. The
 * cost is the size of the last change, not of the tree.
 *
 * Paths are binary strings (one char per byte) and go to the filesystem as Buffers, so names
 * that are not UTF-8 are handled byte for byte. Nothing of the live tree is written: links to
 * its inodes are added, that is all.
 */
const B = (s: string) => Buffer.from(s, "latin1");

function lst(p: Buffer) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * `rel`'s parents inside root are real directories (lstat, no symlink on the way). The paths
 * come from the node's archive: a symlink of the tree among them must not make us link a file
 * of this machine into the image, or unlink one (confine.ts explains the same for tar).
 */
function realParents(root: string, rel: string): boolean {
  const parts = rel.split("/").slice(0, -1);
  let cur = root;
  for (const part of parts) {
    cur = `${cur}/${part}`;
    if (!lst(B(cur))?.isDirectory()) return false;
  }
  return true;
}

/** mkdir -p of `rel`'s parents inside root, replacing any non-directory found on the way. */
function parents(root: string, rel: string): void {
  const parts = rel.split("/").slice(0, -1);
  let cur = root;
  for (const part of parts) {
    cur = `${cur}/${part}`;
    const st = lst(B(cur));
    if (st?.isDirectory()) continue;
    if (st) unlinkSync(B(cur));
    mkdirSync(B(cur), { mode: 0o700 }); // mode, owner and times come with the next archive
  }
}

export function catchUp(live: string, base: string, changed: readonly string[]): number {
  let n = 0;
  for (const rel of new Set(changed)) {
    if (rel === "" || rel.split("/").includes("..")) continue;
    const from = B(`${live}/${rel}`);
    const to = B(`${base}/${rel}`);
    try {
      // a symlink on the way: in the live tree the path is not there; in base/ it is replaced
      // by a directory (the next archive sets it right) before anything is linked
      const src = realParents(live, rel) ? lst(from) : null;
      if (src && !src.isDirectory()) {
        parents(base, rel);
        const dst = lst(to);
        if (dst && dst.ino === src.ino && dst.dev === src.dev) continue;
        if (dst?.isDirectory()) rmSync(to, { recursive: true, force: true });
        else if (dst) unlinkSync(to);
        linkSync(from, to);
        n++;
      } else if (!src && realParents(base, rel)) {
        const dst = lst(to);
        if (dst && !dst.isDirectory()) {
          unlinkSync(to);
          n++;
        }
      }
    } catch (e) {
      throw new IOFailure(`cannot bring the previous tree up to date at ${rel}: ${(e as Error).message}`, { cause: e });
    }
  }
  return n;
}
