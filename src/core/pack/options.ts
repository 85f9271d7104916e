import { UsageError } from "../errors";
import type { Compression } from "./compress";

/**
 * `-m` and `-c` as xCAT's packimage takes them, with xCAT's messages (its tests match them).
 * gzip and pigz both mean the gzip format; xcimg compresses it on all cores itself (faster
 * than the pigz binary, docs/bench/pack.md), so neither program is needed. zstd is ours.
 */
export const ARCHIVE_METHODS = ["cpio", "tar", "squashfs"] as const;
export type ArchiveMethod = (typeof ARCHIVE_METHODS)[number];
export const COMPRESS_METHODS = ["gzip", "pigz", "zstd", "xz"] as const;

export interface PackOptions {
  method: ArchiveMethod;
  compression: Compression;
  /** What the user asked for (pigz stays pigz in messages). */
  compressName: string;
  /** Apply the image's synclists into the tree first (packimage; `--nosyncfiles` turns it off). */
  syncfiles?: boolean;
}

export function parsePackOptions(method: string | undefined, compress: string | undefined): PackOptions {
  const c = compress ?? "gzip";
  if (!(COMPRESS_METHODS as readonly string[]).includes(c)) {
    throw new UsageError(`Invalid compress method '${c}' requested`, { hint: `use one of ${COMPRESS_METHODS.join(", ")}` });
  }
  const m = method ?? "cpio";
  if (!(ARCHIVE_METHODS as readonly string[]).includes(m)) {
    throw new UsageError(`Invalid archive method '${m}' requested`, { hint: `use one of ${ARCHIVE_METHODS.join(", ")}` });
  }
  return { method: m as ArchiveMethod, compression: c === "pigz" ? "gzip" : (c as Compression), compressName: c };
}
