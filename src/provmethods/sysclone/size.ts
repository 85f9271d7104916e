import { UsageError } from "../../core/errors";

/** `500G`, `1.5T`, `512MiB`, `2684354560`: a disk size in bytes (K/M/G/T are powers of 1024, as lsblk prints them). */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`invalid size '${v}'`, { hint: "give bytes or a number with K, M, G or T, e.g. 500G" });
  const mult = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[(m[2] as string).toUpperCase() as "" | "K" | "M" | "G" | "T"];
  return Math.floor(Number(m[1]) * mult);
}
