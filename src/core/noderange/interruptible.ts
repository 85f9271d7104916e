import type { Context } from "../context";
import { DataError, InternalError, IOFailure, NotFoundError, PermissionFailure, UsageError, type XcimgError } from "../errors";
import { dbNodeSource } from "./db-source";
import { expandNoderange } from "./expand";
import type { ExpandReply, ExpandRequest } from "./worker";

/**
 * The noderange of a command, expanded in a Worker while the main thread waits on its event
 * loop. Expansion is synchronous (NodeRange.pm's recursion), and a synchronous loop keeps the
 * SIGINT/SIGTERM handlers of cli/main.ts from ever running: a pathological regex or a huge
 * range would ignore Ctrl-C and `kill`. Here a signal terminates the worker and the command
 * exits 130 at once; WALL_CLOCK_MS bounds whatever the caps in expand.ts and safe-regex.ts
 * let through. The worker costs a few milliseconds per command.
 */
export const WALL_CLOCK_MS = 30_000;

let runaway = false;

/**
 * True once a worker was terminated while still busy: JavaScriptCore cannot stop a thread in
 * the middle of one regular-expression match, so the process must exit explicitly instead of
 * waiting for that thread (src/main.ts).
 */
export const hasRunawayWorker = () => runaway;

function spawnWorker(): Worker {
  // inside the compiled binary the worker is an entry point addressed from the bundle root (see compress/spawn.ts)
  if (import.meta.url.includes("$bunfs")) return new Worker("./core/noderange/worker.ts");
  return new Worker(new URL("./worker.ts", import.meta.url).href);
}

const ERRORS: Record<string, new (m: string, o?: { hint?: string }) => XcimgError> = {
  UsageError,
  DataError,
  NotFoundError,
  PermissionFailure,
  IOFailure,
};

export async function expandNoderangeInterruptibly(ctx: Context, expr: string, opts: { verify?: boolean } = {}): Promise<string[]> {
  const db = ctx.db(); // creates and migrates the database on first use, before the worker reads it
  const verify = opts.verify ?? true;
  if (db.path === ":memory:") return expandNoderange(expr, dbNodeSource(db), { verify, env: ctx.env });
  ctx.signal.throwIfAborted();
  const worker = spawnWorker();
  let settled = false;
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new UsageError(`noderange '${expr}' took longer than ${WALL_CLOCK_MS / 1000} s to expand and was stopped`, {
              hint: "simplify the regular expression or the ranges",
            }),
          ),
        WALL_CLOCK_MS,
      );
      const onAbort = () => reject(ctx.signal.reason);
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        ctx.signal.removeEventListener("abort", onAbort);
      };
      worker.onmessage = (e: MessageEvent<ExpandReply>) => {
        done();
        settled = true;
        const r = e.data;
        if ("nodes" in r) return resolve(r.nodes);
        const Cls = ERRORS[r.error.name] ?? InternalError;
        reject(new Cls(r.error.message, { hint: r.error.hint }));
      };
      worker.onerror = (e) => {
        done();
        settled = true;
        reject(new InternalError(`noderange worker failed: ${e.message}`));
      };
      const image = (db as { image?: Uint8Array }).image;
      worker.postMessage({ dbTarget: db.driver.target, expr, verify, env: { ...ctx.env }, ...(image ? { image } : {}) } satisfies ExpandRequest);
    });
  } finally {
    if (!settled) runaway = true;
    worker.terminate();
  }
}
