import { receiveMessageOnPort } from "node:worker_threads";
import { InternalError } from "../errors";
import {
  BatchBuilder,
  type BatchResult,
  CTL_DONE,
  CTL_FAILED,
  CTL_KEYS,
  CTL_READY,
  type FileJob,
  type JobFailure,
  type KeysResult,
  resultsOf,
  type WorkerInit,
  type WriteDone,
} from "./file-jobs";

/**
 * The main thread's side of the writer thread (file-worker.ts): `xcimg boot` of 10,000 nodes
 * renders a node while the node before it is being written, so the two cores of a small
 * management node share what used to run on one (docs/bench/boot.md, fourth pass). Jobs go out
 * in batches, in order, and are done in that order; the main thread never handles a message
 * in between, so it waits with Atomics.wait on a shared counter and takes the results with
 * receiveMessageOnPort — the boot loop stays synchronous.
 */
const BATCH_JOBS = 256;
const BATCH_BYTES = 1 << 18;
/** Batches in flight before queue() waits: bounds the memory of rendered files not yet written. */
const MAX_AHEAD = 64;

function spawnWriter(): Worker {
  // inside the compiled binary the worker is an entry point addressed from the bundle root (see compress/spawn.ts)
  if (import.meta.url.includes("$bunfs")) return new Worker("./core/boot/file-worker.ts");
  return new Worker(new URL("./file-worker.ts", import.meta.url).href);
}

export class FileWriterThread {
  private readonly worker = spawnWriter();
  private readonly ctl = new Int32Array(new SharedArrayBuffer(16));
  private readonly port: MessagePort;
  private readonly batch = new BatchBuilder();
  private sent = 0;
  private failure: JobFailure | undefined;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker.postMessage({ ctl: this.ctl.buffer as SharedArrayBuffer, port: port2 } satisfies WorkerInit, [port2]);
  }

  queue(job: FileJob): void {
    this.batch.add(job);
    if (this.batch.count >= BATCH_JOBS || this.batch.size >= BATCH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.batch.count === 0) return;
    const b = this.batch.take(++this.sent);
    this.worker.postMessage(b, [b.bytes]);
    if (this.sent - Atomics.load(this.ctl, CTL_DONE) > MAX_AHEAD) this.waitFor(this.sent - MAX_AHEAD);
  }

  private waitFor(seq: number): void {
    this.waitUntil(CTL_DONE, seq);
  }

  /** Blocks until ctl[i] >= n. A thread that never started (a binary built without its entry point) is an error after 30 s, not a hang. */
  private waitUntil(i: number, n: number): void {
    const started = performance.now();
    for (let v = Atomics.load(this.ctl, i); v < n; v = Atomics.load(this.ctl, i)) {
      Atomics.wait(this.ctl, i, v, 1000);
      if (Atomics.load(this.ctl, CTL_READY) === 0 && performance.now() - started > 30_000) {
        throw new InternalError("boot's writer thread did not start (core/boot/file-worker.ts missing from the binary?)");
      }
    }
  }

  /**
   * Asks the thread for host keys (newEd25519HostKey of each comment); the function returned
   * waits for them. Asked before any file job, so no batch result comes first on the port.
   */
  makeKeys(comments: string[]): () => KeysResult["keys"] {
    this.worker.postMessage({ keys: comments });
    return () => {
      this.waitUntil(CTL_KEYS, 1);
      const m = receiveMessageOnPort(this.port as never);
      if (!m || !("keys" in (m.message as object))) throw new Error("internal: the writer thread did not answer with host keys");
      return (m.message as KeysResult).keys;
    };
  }

  failed(): boolean {
    return Atomics.load(this.ctl, CTL_FAILED) !== 0;
  }

  /** Waits until every job queued is done and hands over each write's outcome, in order; the first failure, if any. */
  settle(onDone: (r: WriteDone) => void): JobFailure | undefined {
    this.flush();
    this.waitFor(this.sent);
    for (let m = receiveMessageOnPort(this.port as never); m; m = receiveMessageOnPort(this.port as never)) {
      const r = m.message as BatchResult;
      resultsOf(r.text, onDone);
      this.failure ??= r.failure;
    }
    return this.failure;
  }

  stop(): void {
    this.worker.terminate();
    this.port.close();
  }
}
