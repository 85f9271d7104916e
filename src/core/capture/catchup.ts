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
      const src = lst(from);
      const dst = lst(to);
      if (src && !src.isDirectory()) {
        if (dst && dst.ino === src.ino && dst.dev === src.dev) continue;
        if (dst?.isDirectory()) rmSync(to, { recursive: true, force: true });
        else if (dst) unlinkSync(to);
        else parents(base, rel);
        linkSync(from, to);
        n++;
      } else if (!src && dst && !dst.isDirectory()) {
        unlinkSync(to);
        n++;
      }
    } catch (e) {
      throw new IOFailure(`cannot bring the previous tree up to date at ${rel}: ${(e as Error).message}`, { cause: e });
    }
  }
  return n;
}
