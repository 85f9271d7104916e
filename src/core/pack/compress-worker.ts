/**
 * Compression worker: turns pieces of an archive into independent gzip members or zstd
 * frames. A whole piece is compressed in one call (libdeflate: faster and smaller than zlib,
 * bun.md §3); a piece too big to hold in memory at once (one huge file) is streamed through
 * a node:zlib compressor chunk by chunk. Concatenated members form a valid .gz / .zst file,
 * and the kernel unpacks each as long as it ends at a cpio entry boundary.
 */
import * as zlib from "node:zlib";

/** node:zlib's zstd stream (Bun has it; the bundled Node typings predate it). */
type Compressor = zlib.Gzip;
const zstd = zlib as unknown as { createZstdCompress(o: { params: Record<number, number> }): Compressor; constants: { ZSTD_c_compressionLevel: number } };

export type Algo = "gzip" | "zstd";

export type ToWorker =
  | { type: "piece"; id: number; algo: Algo; level: number; data: Uint8Array }
  | { type: "begin"; id: number; algo: Algo; level: number }
  | { type: "chunk"; id: number; data: Uint8Array }
  | { type: "end"; id: number };

export type FromWorker =
  | { type: "out"; id: number; data: Uint8Array; last: boolean }
  | { type: "ack"; id: number }
  | { type: "error"; id: number; message: string };

declare const self: Worker;

let stream: Compressor | null = null;
let streamId = -1;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []) {
  self.postMessage(msg, transfer);
}

function fail(id: number, e: unknown) {
  post({ type: "error", id, message: (e as Error)?.message ?? String(e) });
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  try {
    if (m.type === "piece") {
      const out =
        m.algo === "zstd"
          ? Bun.zstdCompressSync(m.data, { level: m.level })
          : Bun.gzipSync(m.data as Uint8Array<ArrayBuffer>, { level: m.level, library: "libdeflate" } as Parameters<typeof Bun.gzipSync>[1]);
      post({ type: "out", id: m.id, data: out, last: true }, [out.buffer as ArrayBuffer]);
    } else if (m.type === "begin") {
      streamId = m.id;
      stream =
        m.algo === "zstd"
          ? zstd.createZstdCompress({ params: { [zstd.constants.ZSTD_c_compressionLevel]: m.level } })
          : zlib.createGzip({ level: m.level, memLevel: 9 });
      const id = m.id;
      stream.on("data", (d: Buffer) => {
        const copy = new Uint8Array(d);
        post({ type: "out", id, data: copy, last: false }, [copy.buffer]);
      });
      stream.on("end", () => post({ type: "out", id, data: new Uint8Array(0), last: true }));
      stream.on("error", (e: Error) => fail(id, e));
    } else if (m.type === "chunk") {
      if (!stream || streamId !== m.id) throw new Error(`chunk for unknown stream ${m.id}`);
      const id = m.id;
      stream.write(m.data, () => post({ type: "ack", id }));
    } else if (m.type === "end") {
      if (!stream || streamId !== m.id) throw new Error(`end of unknown stream ${m.id}`);
      stream.end();
      stream = null;
    }
  } catch (e) {
    fail(m.id, e);
  }
};
