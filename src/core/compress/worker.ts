/**
 * The one compression worker (pack's archives, export's bundles): turns pieces of a stream
 * into independent gzip members or zstd frames. A whole piece is compressed in one call
 * (codec.ts); a piece too big to hold in memory at once (one huge file) is streamed through a
 * node:zlib compressor chunk by chunk. Listed as an extra entry point in scripts/build.ts so
 * the compiled binary embeds it; spawn it with spawnCompressWorker().
 */
import * as zlib from "node:zlib";
import { type Algo, compressPiece } from "./codec";

/** node:zlib's zstd stream (Bun has it; the bundled Node typings predate it). */
type Compressor = zlib.Gzip;
const zstd = zlib as unknown as { createZstdCompress(o: { params: Record<number, number> }): Compressor; constants: { ZSTD_c_compressionLevel: number } };

export type ToWorker =
  | { type: "piece"; id: number; algo: Algo; level: number; data: Uint8Array }
  | { type: "begin"; id: number; algo: Algo; level: number }
  | { type: "chunk"; id: number; data: Uint8Array }
  | { type: "end"; id: number };

/** `input`: the piece's or chunk's buffer handed back for reuse (compress/buffer-pool.ts). */
export type FromWorker =
  | { type: "out"; id: number; data: Uint8Array; last: boolean; input?: ArrayBuffer }
  | { type: "ack"; id: number; input: ArrayBuffer }
  | { type: "error"; id: number; message: string };

declare const self: Worker;

let stream: Compressor | null = null;
let streamId = -1;
/**
 * The stream's writes and its end, one after the other: a write handed to the compressor while
 * the previous one is still being compressed changes where zstd cuts its blocks (and an end()
 * queued behind pending writes adds an empty block), so the same input would not always give
 * the same bytes. Pack's archives must (test/core/pack/cpio.test.ts).
 */
let queue: Promise<void> = Promise.resolve();

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
      const out = compressPiece(m.algo, m.level, m.data as Uint8Array<ArrayBuffer>);
      const input = m.data.buffer as ArrayBuffer;
      // both move, neither is copied nor left as garbage here: the output to be written, the
      // input back to the sender's pool
      post({ type: "out", id: m.id, data: out, last: true, input }, [out.buffer as ArrayBuffer, input]);
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
      const s = stream;
      const id = m.id;
      const data = m.data;
      const input = data.buffer as ArrayBuffer;
      // once zlib has consumed the chunk its buffer goes back to the sender's pool
      queue = queue.then(
        () =>
          new Promise<void>((done) =>
            s.write(data, () => {
              post({ type: "ack", id, input }, [input]);
              done();
            }),
          ),
      );
    } else if (m.type === "end") {
      if (!stream || streamId !== m.id) throw new Error(`end of unknown stream ${m.id}`);
      const s = stream;
      queue = queue.then(() => {
        s.end();
      });
      stream = null;
    }
  } catch (e) {
    fail(m.id, e);
  }
};
