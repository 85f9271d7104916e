import { availableParallelism } from "node:os";
import { release } from "./buffer-pool";
import { compressPiece } from "./codec";
import { spawnCompressWorker } from "./spawn";
import type { FromWorker, ToWorker } from "./worker";

/**
 * Parallel gzip: the input is cut into blocks, each block becomes a complete gzip member,
 * and the members are written in order. A multi-member gzip is a valid .gz for gzip, GNU tar
 * and xCAT (`tar zxf`); only Bun.gunzipSync reads just the first member (bun.md §3), so read
 * with node:zlib. Blocks the caller marks as already compressed (gzip'd root images, xz, zstd
 * kernels) are stored, not recompressed: deflating them again costs a core for <1% size.
 */
export interface GzipOptions {
  workers?: number;
  /** Bytes per gzip member; larger keeps the ratio within ~0.1% of one stream. */
  blockSize?: number;
  level?: number;
}

interface Pending {
  resolve: (out: Uint8Array) => void;
  reject: (e: unknown) => void;
}

export class ParallelGzip {
  private readonly blockSize: number;
  private readonly level: number;
  private readonly maxQueued: number;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Compressed members not yet written, in input order. */
  private readonly queue: Promise<Uint8Array>[] = [];
  private writer: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private buf: Uint8Array<ArrayBuffer>;
  private fill = 0;
  private stored = false;
  private nextId = 0;
  private failed: unknown = null;
  bytesIn = 0;
  /** Compressed bytes handed to the sink. */
  bytesOut = 0;

  constructor(
    private readonly sink: (chunk: Uint8Array) => Promise<void>,
    opts: GzipOptions = {},
  ) {
    this.blockSize = opts.blockSize ?? 4 << 20;
    this.level = opts.level ?? 6;
    this.buf = new Uint8Array(this.blockSize);
    const n = opts.workers ?? Math.max(1, Math.min(availableParallelism(), 8));
    for (let i = 0; i < n; i++) {
      try {
        const w = spawnCompressWorker();
        w.onmessage = (e: MessageEvent<FromWorker>) => {
          const m = e.data;
          if (m.type === "error") return this.fail(new Error(`gzip worker: ${m.message}`));
          if (m.type !== "out") return;
          if (m.input) release(m.input); // the block's buffer, handed back: free it now
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          p?.resolve(m.data);
        };
        w.onerror = (e) => this.fail(new Error(`gzip worker failed: ${e.message}`));
        this.workers.push(w);
      } catch {
        break; // no workers available: compress on this thread
      }
    }
    this.maxQueued = Math.max(2, this.workers.length * 3);
  }

  private fail(e: unknown): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
    this.wake?.();
  }

  /** Add bytes; `compressed` says they are already compressed data (stored, not deflated). */
  async write(data: Uint8Array, compressed = false): Promise<void> {
    this.bytesIn += data.length;
    let off = 0;
    while (off < data.length) {
      if (this.fill > 0 && compressed !== this.stored) await this.flushBlock();
      this.stored = compressed;
      const n = Math.min(this.blockSize - this.fill, data.length - off);
      this.buf.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.blockSize) await this.flushBlock();
    }
  }

  private async flushBlock(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.fill === 0) return;
    const level = this.stored ? 0 : this.level;
    let result: Promise<Uint8Array>;
    if (this.workers.length === 0) {
      result = Promise.resolve(compressPiece("gzip", level, this.buf.subarray(0, this.fill)));
    } else {
      const id = this.nextId++;
      const worker = this.workers[id % this.workers.length] as Worker;
      const whole = this.fill === this.blockSize;
      const data = whole ? (this.buf.buffer as ArrayBuffer) : (this.buf.buffer.slice(0, this.fill) as ArrayBuffer);
      result = new Promise<Uint8Array>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      const job: ToWorker = { type: "piece", id, algo: "gzip", level, data: new Uint8Array(data) };
      worker.postMessage(job, [data]);
      if (whole) this.buf = new Uint8Array(this.blockSize);
    }
    result.catch(() => {}); // failures surface through the writer loop
    this.fill = 0;
    this.queue.push(result);
    this.writer ??= this.writeLoop();
    // bound memory: a few blocks in flight per worker
    while (this.queue.length > this.maxQueued && !this.failed) await new Promise<void>((r) => (this.wake = r));
    if (this.failed) throw this.failed;
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length && !this.failed) {
        const out = await (this.queue[0] as Promise<Uint8Array>);
        await this.sink(out);
        this.bytesOut += out.length;
        this.queue.shift();
        this.wake?.();
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.writer = null;
    }
  }

  /** Flush the last block and wait until every member is written. */
  async end(): Promise<void> {
    try {
      await this.flushBlock();
      while (this.writer) await this.writer;
      if (this.failed) throw this.failed;
      if (this.bytesOut === 0) {
        const empty = compressPiece("gzip", this.level, new Uint8Array(new ArrayBuffer(0)));
        await this.sink(empty);
        this.bytesOut += empty.length;
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
