/**
 * Compresses one block into one complete gzip member. Runs as a Worker (see gzip.ts); listed
 * as an extra entry point in scripts/build.ts so the compiled binary embeds it.
 */
declare const self: Worker;

export interface GzipJob {
  id: number;
  level: number;
  data: ArrayBuffer;
}

export function gzipBlock(data: Uint8Array<ArrayBuffer>, level: number): Uint8Array {
  // level 0 = stored blocks, for data that is already compressed: zlib does that at memcpy
  // speed; for real compression libdeflate is ~30% faster than zlib (bun.md §3)
  if (level === 0) return Bun.gzipSync(data, { level: 0 });
  return Bun.gzipSync(data, { level, library: "libdeflate" } as unknown as Bun.ZlibCompressionOptions);
}

if (typeof self !== "undefined" && typeof (self as { postMessage?: unknown }).postMessage === "function" && !Bun.isMainThread) {
  self.onmessage = (e: MessageEvent<GzipJob>) => {
    const { id, level, data } = e.data;
    const out = gzipBlock(new Uint8Array(data), level);
    const buf = out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
    self.postMessage({ id, data: buf }, [buf]);
  };
}
