import { writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Algo } from "../compress/codec";
import { spawnCompressWorker } from "../compress/spawn";
import type { FromWorker, ToWorker } from "../compress/worker";
import { IOFailure, NotFoundError } from "../errors";

/**
 * Where an archive's bytes go. The archive writer calls write() with fresh buffers (the sink
 * may keep them) and boundary() wherever the stream may be cut into separately compressed
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
 */
export class ParallelSink implements ArchiveSink {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private nextWrite = 0;
  private cur: Uint8Array[] = [];
  private curBytes = 0;
  private streaming: { id: number; worker: number; unacked: number } | null = null;
  private inflight = 0;
  private written = 0;
  /** Output bytes since the last garbage collection (writeAll). */
  private sinceGc = 0;
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
    this.maxInflight = pieceSize * (workerCount * 2 + 1);
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
    this.cur.push(chunk);
    this.curBytes += chunk.length;
    if (this.curBytes > this.streamThreshold) {
      // one entry bigger than we want in memory: stream the rest of it
      const id = this.newJob(this.pickWorker(), 0);
      const job = this.jobs.get(id) as Job;
      this.streaming = { id, worker: job.worker, unacked: 0 };
      this.post(job.worker, { type: "begin", id, algo: this.algo, level: this.level });
      const pending = this.cur;
      this.cur = [];
      this.curBytes = 0;
      for (const c of pending) await this.streamChunk(c);
    }
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
  }

  private async streamChunk(chunk: Uint8Array): Promise<void> {
    const s = this.streaming as { id: number; worker: number; unacked: number };
    const data = ownBuffer(chunk);
    (this.jobs.get(s.id) as Job).inBytes += data.length;
    this.inflight += data.length;
    s.unacked++;
    this.post(s.worker, { type: "chunk", id: s.id, data }, [data.buffer as ArrayBuffer]);
    while (s.unacked > 2 && !this.failure) await this.waitEvent();
    this.check();
  }

  private dispatchPiece(): void {
    const data = new Uint8Array(this.curBytes);
    let off = 0;
    for (const c of this.cur) {
      data.set(c, off);
      off += c.length;
    }
    this.cur = [];
    this.curBytes = 0;
    const w = this.pickWorker();
    const id = this.newJob(w, data.length);
    this.inflight += data.length;
    this.post(w, { type: "piece", id, algo: this.algo, level: this.level, data }, [data.buffer as ArrayBuffer]);
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
      if (this.streaming?.id === m.id) this.streaming.unacked--;
      this.notify();
      return;
    }
    const job = this.jobs.get(m.id);
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
        for (const c of job.out) this.writeAll(c);
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
    // every file read and every piece is a fresh buffer: collect them as we go (see worker.ts)
    this.sinceGc += c.length;
    if (this.sinceGc >= 64 << 20) {
      this.sinceGc = 0;
      Bun.gc(false);
    }
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

/** Bytes with an ArrayBuffer of their own, safe to transfer to a worker. */
function ownBuffer(c: Uint8Array): Uint8Array {
  if (c.byteOffset === 0 && c.byteLength === c.buffer.byteLength) return c;
  return new Uint8Array(c);
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
    this.pending += await this.stdin.write(chunk);
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
