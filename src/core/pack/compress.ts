import { writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { BufferPool, release } from "../compress/buffer-pool";
import type { Algo } from "../compress/codec";
import { spawnCompressWorker } from "../compress/spawn";
import type { FromWorker, ToWorker } from "../compress/worker";
import { IOFailure, NotFoundError } from "../errors";

/**
 * Where an archive's bytes go. The archive writer calls write() with its bytes — the sink copies
 * what it keeps, so the writer may reuse the buffer once write() has resolved (pack reads every
 * file into the same few buffers) — and boundary() wherever the stream may be cut into separately compressed
 * members: between cpio entries (the kernel rejects a member that ends inside an entry), or
 * anywhere in a tar stream (gunzip/zstd read concatenated members as one stream).
 */
export interface ArchiveSink {
  write(chunk: Uint8Array): Promise<void> | void;
  boundary(): Promise<void> | void;
  /** Flush everything; returns the compressed size. */
  finish(): Promise<number>;
  /** Stop workers/children after a failure. */
  abort(): void;
}

export type Compression = "gzip" | "zstd" | "xz";

/** File suffix per compression, as xCAT names its outputs (zstd is ours). */
export const SUFFIX: Record<Compression, string> = { gzip: "gz", zstd: "zst", xz: "xz" };

export interface SinkOptions {
  /** Output file descriptor. */
  fd: number;
  compression: Compression;
  /** Workers for gzip/zstd (default: one per CPU). */
  workers?: number;
  /** Uncompressed bytes per member (default 8 MiB). */
  pieceSize?: number;
}

/**
 * Input in flight: a piece per worker and one more, waiting for whichever finishes first (the
 * main thread stages the next piece in milliseconds, a worker compresses one in ~100 ms).
 * Two per worker held ~25 MB more at the peak for no speed (docs/bench/memory.md).
 */
const PIECES_PER_WORKER = 1;

export function createSink(o: SinkOptions): ArchiveSink {
  if (o.compression === "xz") return new ChildSink(o.fd, ["xz", "-6", "-T0", "--check=crc32", "-c"]);
  return new ParallelSink(o.fd, o.compression, o.compression === "zstd" ? 3 : 6, o.workers ?? availableParallelism(), o.pieceSize ?? 8 << 20);
}

interface Job {
  out: Uint8Array[];
  done: boolean;
  inBytes: number;
  worker: number;
}

/**
 * gzip/zstd on all cores: the stream is cut at boundaries into pieces of ~pieceSize, each
 * compressed by a worker into an independent member, written in order. A stretch with no
 * boundary for longer than streamThreshold (one big file) is streamed through one worker
 * instead of being held in memory.
 *
 * Memory stays flat whatever the tree (docs/bench/memory.md): pieces are staged in pooled
 * buffers that go to a worker and come back with its output, and each output is freed as soon
 * as it is written, so nothing large waits for a garbage collection on any thread.
 */
export class ParallelSink implements ArchiveSink {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private nextWrite = 0;
  private readonly pool: BufferPool;
  /** The piece being staged (a pooled buffer), its fill, and the lengths of the writes in it. */
  private cur: Uint8Array;
  private curBytes = 0;
  private curWrites: number[] = [];
  private streaming: { id: number; worker: number; unacked: number } | null = null;
  private inflight = 0;
  private written = 0;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private readonly streamThreshold: number;
  private readonly maxInflight: number;

  constructor(
    private readonly fd: number,
    private readonly algo: Algo,
    private readonly level: number,
    workerCount: number,
    private readonly pieceSize: number,
  ) {
    this.streamThreshold = Math.max(pieceSize * 4, 32 << 20);
    this.maxInflight = pieceSize * (workerCount * PIECES_PER_WORKER + 1);
    // idle buffers kept: enough for the pieces coming back while the next is staged
    this.pool = new BufferPool(1 << 20, workerCount + 2);
    this.cur = this.newStage();
    for (let i = 0; i < Math.max(1, workerCount); i++) {
      const w = spawnCompressWorker();
      w.onmessage = (ev: MessageEvent<FromWorker>) => this.onMessage(ev.data);
      w.onerror = (ev) => this.fail(new Error(ev.message || "compression worker crashed"));
      this.workers.push(w);
      this.busy.push(0);
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.check();
    if (chunk.length === 0) return;
    if (this.streaming) return this.streamChunk(chunk);
    this.stage(chunk);
    if (this.curBytes > this.streamThreshold) {
      // one entry bigger than we want in memory: stream the rest of it
      const id = this.newJob(this.pickWorker(), 0);
      const job = this.jobs.get(id) as Job;
      this.streaming = { id, worker: job.worker, unacked: 0 };
      this.post(job.worker, { type: "begin", id, algo: this.algo, level: this.level });
      // what is staged goes first, write by write as it came (the stream's input, unchanged)
      const writes = this.curWrites;
      this.curWrites = [];
      this.curBytes = 0;
      let off = 0;
      for (const n of writes) {
        await this.streamChunk(this.cur.subarray(off, off + n));
        off += n;
      }
    }
  }

  /** Copy a write into the staged piece, moving to a bigger pooled buffer when it is full. */
  private stage(chunk: Uint8Array): void {
    const need = this.curBytes + chunk.length;
    if (need > this.cur.length) {
      const bigger = new Uint8Array(this.pool.take(need));
      bigger.set(this.cur.subarray(0, this.curBytes));
      this.pool.give(this.cur.buffer as ArrayBuffer);
      this.cur = bigger;
    }
    this.cur.set(chunk, this.curBytes);
    this.curBytes = need;
    this.curWrites.push(chunk.length);
  }

  /** Room for a piece plus the entry that ends it (up to 1 MiB files are one write). */
  private newStage(): Uint8Array {
    return new Uint8Array(this.pool.take(this.pieceSize + (this.pieceSize >> 3) + (64 << 10)));
  }

  async boundary(): Promise<void> {
    this.check();
    if (this.streaming) {
      const s = this.streaming;
      this.streaming = null;
      this.post(s.worker, { type: "end", id: s.id });
    } else if (this.curBytes >= this.pieceSize) this.dispatchPiece();
    while (this.inflight > this.maxInflight && !this.failure) await this.waitEvent();
    this.check();
  }

  async finish(): Promise<number> {
    try {
      if (this.streaming) await this.boundary();
      if (this.curBytes > 0) this.dispatchPiece();
      while (this.jobs.size > 0 && !this.failure) await this.waitEvent();
      this.check();
      return this.written;
    } finally {
      this.abort();
    }
  }

  abort(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.pool.clear();
  }

  private async streamChunk(chunk: Uint8Array): Promise<void> {
    const s = this.streaming as { id: number; worker: number; unacked: number };
    const buf = this.pool.take(chunk.length);
    const data = new Uint8Array(buf, 0, chunk.length);
    data.set(chunk);
    (this.jobs.get(s.id) as Job).inBytes += data.length;
    this.inflight += data.length;
    s.unacked++;
    this.post(s.worker, { type: "chunk", id: s.id, data }, [buf]);
    while (s.unacked > 2 && !this.failure) await this.waitEvent();
    this.check();
  }

  /** The staged piece goes to a worker as it is (transferred, not copied); it comes back with the output. */
  private dispatchPiece(): void {
    const buf = this.cur.buffer as ArrayBuffer;
    const data = new Uint8Array(buf, 0, this.curBytes);
    this.cur = this.newStage();
    this.curBytes = 0;
    this.curWrites = [];
    const w = this.pickWorker();
    const id = this.newJob(w, data.length);
    this.inflight += data.length;
    this.post(w, { type: "piece", id, algo: this.algo, level: this.level, data }, [buf]);
  }

  private newJob(worker: number, inBytes: number): number {
    const id = this.nextId++;
    this.jobs.set(id, { out: [], done: false, inBytes, worker });
    this.busy[worker] = (this.busy[worker] ?? 0) + 1;
    return id;
  }

  /** The least busy worker that is not in the middle of a stream. */
  private pickWorker(): number {
    let best = -1;
    for (let i = 0; i < this.workers.length; i++) {
      if (this.streaming?.worker === i && this.workers.length > 1) continue;
      if (best < 0 || (this.busy[i] as number) < (this.busy[best] as number)) best = i;
    }
    return Math.max(best, 0);
  }

  private post(worker: number, msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    (this.workers[worker] as Worker).postMessage(msg, transfer);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === "error") {
      this.fail(new Error(m.message));
      return;
    }
    if (m.type === "ack") {
      this.pool.give(m.input);
      if (this.streaming?.id === m.id) this.streaming.unacked--;
      this.notify();
      return;
    }
    const job = this.jobs.get(m.id);
    if (m.input) this.pool.give(m.input);
    if (!job) return;
    if (m.data.length) job.out.push(m.data);
    if (m.last) job.done = true;
    this.drain();
    this.notify();
  }

  /** Write finished output strictly in job order. */
  private drain(): void {
    try {
      for (let job = this.jobs.get(this.nextWrite); job; job = this.jobs.get(this.nextWrite)) {
        for (const c of job.out) {
          this.writeAll(c);
          release(c.buffer); // ours alone (transferred by the worker): free it now, not at a collection
        }
        job.out = [];
        if (!job.done) return;
        this.jobs.delete(this.nextWrite);
        this.inflight -= job.inBytes;
        this.busy[job.worker] = (this.busy[job.worker] ?? 1) - 1;
        this.nextWrite++;
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private writeAll(c: Uint8Array): void {
    let off = 0;
    while (off < c.length) off += writeSync(this.fd, c, off, c.length - off);
    this.written += c.length;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.notify();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitEvent(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** A compressor child process (xz) fed the whole stream; it writes the output file itself. */
export class ChildSink implements ArchiveSink {
  private readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly stdin: import("bun").FileSink;
  private pending = 0;

  constructor(
    private readonly fd: number,
    private readonly argv: string[],
  ) {
    if (!Bun.which(argv[0] as string)) {
      throw new NotFoundError(`Command ${argv[0]} does not exist, please make sure it is installed.`, {
        hint: `install the ${argv[0]} package (Debian: xz-utils)`,
      });
    }
    this.proc = Bun.spawn(argv, { stdin: "pipe", stdout: fd, stderr: "pipe" });
    this.stdin = this.proc.stdin as import("bun").FileSink;
  }

  async write(chunk: Uint8Array): Promise<void> {
    // a copy: the writer reuses its buffer once write() resolves, and the pipe may not have taken it all yet
    this.pending += await this.stdin.write(new Uint8Array(chunk)); // a copy (Buffer#slice would be a view)
    if (this.pending > 16 << 20) {
      await this.stdin.flush();
      this.pending = 0;
    }
  }

  boundary(): void {}

  async finish(): Promise<number> {
    await this.stdin.end();
    const code = await this.proc.exited;
    if (code !== 0) {
      const err = await new Response(this.proc.stderr as ReadableStream).text();
      throw new IOFailure(`${this.argv.join(" ")} failed (exit ${code}): ${err.trim()}`);
    }
    const { fstatSync } = await import("node:fs");
    return fstatSync(this.fd).size;
  }

  abort(): void {
    try {
      this.proc.kill();
    } catch {
      // already gone
    }
  }
}
