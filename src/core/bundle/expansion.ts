import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { DataError, fsError, IOFailure } from "../errors";

/**
 * A bound on what one compressed member of a bundle may expand to, counted while it is being
 * decompressed so a decompression bomb (a 250 KiB gzip of 256 MiB of zeros) is stopped as
 * soon as it crosses the bound, before it reaches the disk. Three caps, the first crossed wins:
 * - a ratio: more than MAX_RATIO times the compressed size (gzip's own ceiling is ~1032:1, so
 *   only a stream made of one repeated byte gets near it; no root tree does), counted only
 *   past RATIO_FLOOR so small, very compressible files are not refused;
 * - an absolute cap, MAX_EXPANDED;
 * - the free space of the filesystem it will be written to (disk full: exit 74, not 65).
 */
export const MAX_RATIO = 1000;
export const RATIO_FLOOR = 64 << 20;
export const MAX_EXPANDED = 2 ** 40;

export class ExpansionBudget {
  private seen = 0;
  constructor(
    private readonly what: string,
    private readonly compressed: number,
    private readonly free: number,
    private readonly freeWhere: string,
  ) {}

  get bytes(): number {
    return this.seen;
  }

  /** Count `n` more decompressed bytes; throws once a bound is crossed. */
  add(n: number): void {
    this.seen += n;
    const s = this.seen;
    if (s > RATIO_FLOOR && s > this.compressed * MAX_RATIO)
      throw new DataError(`${this.what} expands to more than ${MAX_RATIO} times its compressed size of ${this.compressed} bytes`, {
        hint: "a decompression bomb, or a corrupt file: the bundle was not imported",
      });
    if (s > MAX_EXPANDED) throw new DataError(`${this.what} expands to more than ${MAX_EXPANDED} bytes`, { hint: "the bundle was not imported" });
    if (s > this.free)
      throw new IOFailure(`${this.what} expands to more than the ${this.free} bytes free in ${this.freeWhere}`, {
        hint: "free some space and try again; nothing was imported",
      });
  }
}

/** Bytes available (bavail, what df shows) on the filesystem of `dir`, or of its nearest existing parent. */
export function freeBytes(dir: string): number {
  let d = dir;
  for (;;) {
    try {
      const st = statfsSync(d);
      return Number(st.bavail) * Number(st.bsize);
    } catch (e) {
      const up = dirname(d);
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || up === d) throw fsError(e, `cannot use ${dir}`);
      d = up;
    }
  }
}
