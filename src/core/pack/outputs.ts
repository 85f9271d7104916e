import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { firstStageProblem } from "../initrd/first-stage";
import type { Logger } from "../log";
import { type Compression, SUFFIX } from "./compress";
import { pickKernel } from "./kernel";
import type { ArchiveMethod } from "./options";

/** The packed image's file name, next to rootimg/, as xCAT names it. */
export function archiveName(method: ArchiveMethod, compression: Compression): string {
  return method === "squashfs" ? "rootimg.sfs" : `rootimg.${method}.${SUFFIX[compression]}`;
}

/** Every name a packed image of any method has had (xCAT's legacy rootimg.gz included). */
export const PACKED_IMAGE = /^rootimg\.((cpio|tar)\.(gz|zst|xz)|sfs|gz)(\.metainfo)?$/;

/**
 * Which packed image a directory holds, in xCAT's order of preference
 * (SvrUtils::searchcompressedrootimg), with zstd after gzip. pack leaves only one.
 */
export const PACKED_PREFERENCE = [
  "rootimg.cpio.gz",
  "rootimg.cpio.zst",
  "rootimg.cpio.xz",
  "rootimg.tar.gz",
  "rootimg.tar.zst",
  "rootimg.tar.xz",
  "rootimg.sfs",
  "rootimg.gz",
];

export function findPackedImage(rootimgdir: string): string | null {
  for (const n of PACKED_PREFERENCE) if (existsSync(join(rootimgdir, n))) return join(rootimgdir, n);
  return null;
}

/** Packed images in `dir` other than `keep`. */
export function otherPackedImages(dir: string, keep: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n !== keep && PACKED_IMAGE.test(n)).map((n) => join(dir, n));
}

/** Single-stage boot needs an archive the kernel unpacks itself: cpio. */
export function isKernelUnpackable(file: string): boolean {
  return /rootimg\.cpio\.(gz|zst|xz)$/.test(file);
}

/**
 * After a pack: remove the packed images of other methods and compressions, but only if the
 * new one boots — a cpio image always does (the kernel unpacks it); a squashfs or tar image
 * needs what its first stage takes from the tree (core/initrd/first-stage.ts: squashfs, overlay
 * and loop modules, busybox, GNU tar). Otherwise the others stay and nodes keep booting them
 * (findPackedImage prefers cpio), with a warning naming what the new image lacks. Returns the
 * files removed.
 */
export function removeReplacedImages(dir: string, name: string, tree: string, img: { kernelver?: string; osarch?: string }, log: Logger): string[] {
  const others = otherPackedImages(dir, name);
  if (!others.length) return [];
  const problem = bootProblem(tree, name, img);
  if (problem) {
    log.warn(`kept ${others.map((f) => basename(f)).join(", ")}: nodes cannot boot ${name} yet (${problem})`);
    return [];
  }
  for (const old of others) rmSync(old, { force: true });
  return others;
}

function bootProblem(tree: string, name: string, img: { kernelver?: string; osarch?: string }): string | null {
  if (isKernelUnpackable(name)) return null;
  const version = pickKernel(tree, img.kernelver)?.version;
  if (!version) return `no kernel in ${tree}/boot to take /lib/modules from`;
  return firstStageProblem(tree, version, img.osarch || "x86_64", name);
}
