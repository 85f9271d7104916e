import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type Compression, SUFFIX } from "./compress";
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
