/**
 * The writer thread of `xcimg boot` (file-writer.ts starts it): does the file jobs the main
 * thread queues, in the order queued, while the main thread renders the next nodes. Listed as
 * an extra entry point in scripts/build.ts so the compiled binary embeds it.
 *
 * It also makes host keys on request (KeysRequest), half of a first boot's 10,000 while the
 * main thread makes the other half.
 *
 * Protocol: one init message with the shared counters and the result port, then batches. After
 * each batch its results go out on the port and CTL_DONE becomes the batch's number, so the
 * main thread can wait for it with Atomics.wait without an event loop turn. After the first
 * failure every later batch is skipped (the main thread stops the run, as the sequential loop
 * did at that file).
 */

import {
  type BatchResult,
  batchJobs,
  CTL_DONE,
  CTL_FAILED,
  CTL_KEYS,
  CTL_READY,
  FileJobError,
  JobRunner,
  type KeysRequest,
  type KeysResult,
  resultText,
  type WorkerBatch,
  type WorkerInit,
  type WriteDone,
} from "./file-jobs";
import { newEd25519HostKey } from "./hostkeys";

declare const self: Worker;

let ctl: Int32Array | undefined;
let port: MessagePort | undefined;
const runner = new JobRunner();

self.onmessage = (e: MessageEvent<WorkerInit | WorkerBatch | KeysRequest>) => {
  const m = e.data;
  if ("ctl" in m) {
    ctl = new Int32Array(m.ctl);
    port = m.port;
    Atomics.store(ctl, CTL_READY, 1);
    return;
  }
  const c = ctl as Int32Array;
  if ("keys" in m) {
    port?.postMessage({ keys: m.keys.map((comment) => newEd25519HostKey(comment)) } satisfies KeysResult);
    Atomics.add(c, CTL_KEYS, 1);
    Atomics.notify(c, CTL_KEYS);
    return;
  }
  const out: BatchResult = { seq: m.seq, text: "" };
  const done: WriteDone[] = [];
  if (Atomics.load(c, CTL_FAILED) === 0) {
    for (const job of batchJobs(m)) {
      try {
        const r = runner.run(job);
        if (r) done.push(r);
      } catch (err) {
        out.failure =
          err instanceof FileJobError
            ? err.failure
            : { code: (err as NodeJS.ErrnoException)?.code, message: String((err as Error)?.message ?? err), what: `cannot write ${job.path}` };
        Atomics.store(c, CTL_FAILED, 1);
        break;
      }
    }
  }
  out.text = resultText(done);
  port?.postMessage(out);
  Atomics.store(c, CTL_DONE, m.seq);
  Atomics.notify(c, CTL_DONE);
};
