/**
 * One piece of data into one complete gzip member or zstd frame. Concatenated members form a
 * valid .gz / .zst file; the kernel unpacks each as long as it ends at a cpio entry boundary.
 */
export type Algo = "gzip" | "zstd";

export function compressPiece(algo: Algo, level: number, data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (algo === "zstd") return Bun.zstdCompressSync(data, { level }) as Uint8Array<ArrayBuffer>;
  // level 0 = stored blocks, for data that is already compressed: zlib does that at memcpy
  // speed; for real compression libdeflate is faster and smaller than zlib (bun.md §3)
  if (level === 0) return Bun.gzipSync(data, { level: 0 }) as Uint8Array<ArrayBuffer>;
  return Bun.gzipSync(data, { level, library: "libdeflate" } as unknown as Bun.ZlibCompressionOptions) as Uint8Array<ArrayBuffer>;
}
