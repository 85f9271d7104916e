import { existsSync, lstatSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { DataError, fsError } from "../errors";
import { exchangeDirs } from "../fs/swap";
import { imageFacts } from "../image/method-facts";
import { rootImgDir } from "../image/paths";
import { sealMovedTree, type TreeTop, treeIsNfsRoot } from "../image/tree-barrier";
import { findMethodFacts } from "../provmethod/facts";

/**
 * A capture replaces an image's whole tree with the golden node's files. For most images that
 * is what the admin asked for, but some trees hold what was made on the management node and
 * exists nowhere else (a statelite image's .statelite, .default and init script, made by
 * `xcimg lite`: MethodFacts.capture.replaceLoses), and some are mounted by booted nodes over
 * NFS as their root. Replacing those silently lost data (issue #17, "Images: nothing
 * destroyed without being asked"): without --force the capture refuses, before connecting.
 */
export function imageTree(config: Config, img: Image): string | null {
  const kind = imageFacts(img.attrs.provmethod).tree;
  if (kind === null) return null;
  let dir: string;
  try {
    dir = rootImgDir(config, img);
  } catch {
    return null; // no osvers/profile yet: nothing was ever written for it
  }
  return kind === "." ? dir : join(dir, kind);
}

/** What replacing `tree` would lose, in words; empty when nothing is at risk. */
export function replaceRisks(img: Image, tree: string): string[] {
  if (!existsSync(tree)) return [];
  const made = findMethodFacts(img.attrs.provmethod)?.capture?.replaceLoses ?? [];
  const risks = made.filter((m) => present(join(tree, m.path))).map((m) => m.what);
  if (treeIsNfsRoot(img)) risks.push("the root filesystem booted nodes mount over NFS");
  return risks;
}

/** Refuse to replace a tree at risk unless forced; returns true when the previous tree must be kept as a rollback point. */
export function checkReplace(img: Image, tree: string, force: boolean): boolean {
  const risks = replaceRisks(img, tree);
  if (!risks.length) return false;
  if (force) return true;
  throw new DataError(`refusing to capture into image '${img.name}': replacing ${tree} would lose ${risks.join(", ")}`, {
    hint: `add --force to replace it (the previous tree is kept as ${tree}.prev), or capture into another image with -o`,
  });
}

/** Where a forced capture keeps the tree it replaced. */
export const rollbackPath = (tree: string) => `${tree}.prev`;

/**
 * After a forced capture swapped its new tree in: the previous tree (now at `previous`) becomes
 * the one rollback point `<tree>.prev`, replacing an older one in one exchange so that a
 * complete `.prev` exists at every moment; the older one is removed after. `top` is what nodes
 * saw at `/` of the previous tree, recorded beside `.prev` (core/image/tree-barrier.ts).
 */
export async function keepRollback(tree: string, previous: string, top: TreeTop, aside: string, removeTree: (p: string) => Promise<void>): Promise<string> {
  const prev = rollbackPath(tree);
  if (existsSync(prev)) {
    await exchangeDirs(prev, previous, aside);
    await removeTree(previous); // the older rollback point
  } else {
    try {
      renameSync(previous, prev);
    } catch (e) {
      throw fsError(e, `cannot keep the previous tree as ${prev}`);
    }
  }
  sealMovedTree(prev, top);
  return prev;
}

function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
