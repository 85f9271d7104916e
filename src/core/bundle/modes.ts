import { chmodSync, chownSync, lchownSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { fsError } from "../errors";
import type { Placement } from "./import";

/**
 * Files a bundle places outside an image's root tree (kernel, initrd, packed image, lists,
 * extras) get modes and owners of the management node's choosing, not the bundle's: a 0666
 * kernel or a setuid postscript under installdir is a way in. Files become 0644, or 0755 when
 * the bundle had any execute bit; no setuid/setgid/sticky, no group or other write; owner
 * root:root. Symlinks are re-owned only (their mode means nothing). Directories are made
 * 0755 root:root by PlacementTx. Root trees (rootimg/, imagetree/) keep the OS's own modes.
 */
export function normalisedMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

export function normaliseStaged(staging: string, placements: Placement[]): void {
  for (const p of placements) {
    if (p.tree || p.dir) continue;
    const path = join(staging, p.from);
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) {
        lchownSync(path, 0, 0);
        continue;
      }
      chownSync(path, 0, 0);
      chmodSync(path, normalisedMode(st.mode));
    } catch (e) {
      throw fsError(e, `cannot set the mode of staged ${p.from}`);
    }
  }
}
