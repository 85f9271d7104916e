import { receiveMessageOnPort } from "node:worker_threads";
import { BusyError, DataError, PermissionFailure, RemoteError } from "../errors";
import type { DbDriver, Param, RawRow } from "./driver";
import type { PgReply, PgRequest, PgStart } from "./pg-protocol";

/** Every xcimg writer takes this transaction-level advisory lock first: PostgreSQL's BEGIN IMMEDIATE. */
export const WRITE_LOCK_KEY = 0x7863696d; // "xcim"

const REPLY_TIMEOUT_MS = 120_000;
const STAMP_TTL_MS = 100;
const LOCK_WAIT_S = 100;

export class PgError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A value PostgreSQL refused (SQLSTATE class 22 or 23). */
export class PgDataError extends DataError {}

function spawnWorker(): Worker {
  // inside the compiled binary the worker is an entry point addressed from the bundle root (see compress/spawn.ts)
  if (import.meta.url.includes("$bunfs")) return new Worker("./core/db/pg-worker.ts");
  return new Worker(new URL("./pg-worker.ts", import.meta.url).href);
}

/** `?` → `$1, $2, ...`, outside quoted strings and identifiers, so callers write one dialect. */
export function dollarPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The url without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgresql://(unparsable url)";
  }
}

/**
 * PostgreSQL behind the synchronous DbDriver seam: a Worker owns the connection (Bun.SQL is
 * async) and the calling thread blocks in Atomics.wait until the answer is posted back, so
 * every caller of the database stays synchronous. Costs one thread hop per statement.
 */
export class PgDriver implements DbDriver {
  readonly engine = "postgresql" as const;
  readonly location: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;
  private writes = 0;

  constructor(readonly target: string) {
    const url = target;
    this.location = redactUrl(url);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.worker = spawnWorker();
    this.worker.unref();
    this.worker.postMessage({ url, port: channel.port2, flag: this.flag.buffer as SharedArrayBuffer } satisfies PgStart, [channel.port2]);
    this.get("SELECT 1 AS ok"); // connect now, so a bad url fails at open, not mid-command
  }

  private call(req: PgRequest): { rows: RawRow[]; changes: number } {
    if (this.closed) throw new PgError("database connection is closed");
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(req);
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      Atomics.wait(this.flag, 0, 0, Math.max(1, deadline - Date.now()));
      const m = receiveMessageOnPort(this.port as never) as { message: PgReply } | undefined;
      if (m) {
        const r = m.message;
        if (!r.ok) throw this.failure(r.message, r.code);
        return r;
      }
      if (Date.now() > deadline) throw new PgError(`no answer from PostgreSQL at ${this.location} within ${REPLY_TIMEOUT_MS / 1000} s`);
    }
  }

  /**
   * What a failed statement means to the admin: a value the schema refuses (xCAT's key
   * columns are VARCHAR(128) on PostgreSQL; SQLite takes any length) is bad data, a dropped
   * connection is the remote being unavailable; anything else stays a PgError (a bug).
   */
  private failure(message: string, code: string | undefined): Error {
    if (code && /^2[23]/.test(code)) {
      return new PgDataError(`PostgreSQL at ${this.location} refused a value: ${message}`, {
        hint: "xCAT's PostgreSQL tables hold at most 128 characters in key columns (node, image names)",
      });
    }
    if (code && (/^ERR_POSTGRES_CONNECTION/.test(code) || /^08|^57P0/.test(code))) {
      return new RemoteError(`lost the connection to PostgreSQL at ${this.location}: ${message}`, {
        hint: "the command's transaction was rolled back by the server; check the server and run it again",
      });
    }
    if (code === "42501" && this.ready) {
      return new PermissionFailure(`PostgreSQL at ${this.location}: ${message}`, {
        hint: "the database user needs SELECT, INSERT, UPDATE and DELETE on xCAT's tables and xcimg_*",
      });
    }
    return new PgError(message, code);
  }

  /** Set once the schema is checked: before that, a privilege error is the schema setup's (pg-open.ts). */
  ready = false;

  all(sql: string, params: readonly Param[] = []): RawRow[] {
    return this.call({ op: "query", sql: dollarPlaceholders(sql), params }).rows;
  }

  get(sql: string, params: readonly Param[] = []): RawRow | null {
    return this.all(sql, params)[0] ?? null;
  }

  run(sql: string, params: readonly Param[] = []): { changes: number } {
    this.writes++;
    return { changes: this.call({ op: "query", sql: dollarPlaceholders(sql), params }).changes };
  }

  exec(sql: string): void {
    this.writes++;
    this.call({ op: "query", sql, params: [] });
  }

  /**
   * One round trip: BEGIN, a bound on lock waits (below the bridge's reply timeout, so a
   * writer stuck behind another reports it instead of hanging), then the write lock.
   */
  beginWrite(): void {
    try {
      this.exec(`BEGIN; SET LOCAL lock_timeout = '${LOCK_WAIT_S}s'; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
    } catch (e) {
      this.rollback();
      if (e instanceof PgError && e.code === "55P03") {
        throw new BusyError(`another xcimg command has held the database's write lock for ${LOCK_WAIT_S} s (${this.location})`, {
          hint: "wait for it to finish, then try again; pg_locks shows the holder (locktype advisory)",
        });
      }
      throw e;
    }
  }

  commit(): void {
    this.exec("COMMIT");
  }

  rollback(): void {
    this.exec("ROLLBACK");
  }

  columns(table: string): string[] | null {
    const rows = this.all(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
      [table],
    ) as { column_name: string }[];
    return rows.length ? rows.map((r) => r.column_name) : null;
  }

  /**
   * This connection's own writes, plus the current snapshot (xmin:xmax:running ids; read-only
   * transactions take no id): it moves when anyone may have changed a row. The server is asked
   * at most every STAMP_TTL_MS — a noderange over 10,000 nodes asks for the stamp per node, and
   * a round trip each would cost seconds — so other sessions' commits show within that time,
   * this connection's own writes at once.
   */
  changeStamp(): string {
    const now = performance.now();
    if (!this.stamp || now - this.stamp.at > STAMP_TTL_MS) {
      const row = this.get("SELECT pg_current_snapshot()::text AS s") as { s: string };
      this.stamp = { at: performance.now(), server: row.s };
    }
    return `${this.stamp.server}:${this.writes}`;
  }

  private stamp: { at: number; server: string } | undefined;

  close(): void {
    if (this.closed) return;
    try {
      this.call({ op: "close" });
    } catch {
      // the connection is gone already; nothing to flush
    }
    this.closed = true;
    this.port.close();
    this.worker.terminate();
  }
}
