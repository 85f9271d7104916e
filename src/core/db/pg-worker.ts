/**
 * Owns the PostgreSQL connection for pg-driver.ts. The main thread posts one request on a
 * MessagePort and sleeps in Atomics.wait; this worker runs it on Bun's async client, posts the
 * answer and wakes the main thread, which reads it with receiveMessageOnPort. Listed as an
 * extra entry point in scripts/build.ts so the compiled binary embeds it.
 */
import { SQL } from "bun";
import type { PgReply, PgRequest, PgStart } from "./pg-protocol";

declare const self: Worker;

function plain(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  // int8 and numeric arrive as bigint or string; xcimg's own counters fit in a double
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === "bigint") r[k] = Number(v);
  return [...rows];
}

self.onmessage = (e: MessageEvent<PgStart>) => {
  const { url, port, flag } = e.data;
  const signal = new Int32Array(flag);
  // one connection, so BEGIN ... COMMIT sent as separate requests stay on it
  const sql = new SQL(url, { max: 1, idleTimeout: 0, connectionTimeout: 15, bigint: true });
  const answer = (reply: PgReply) => {
    port.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  (port as unknown as { onmessage: (m: MessageEvent<PgRequest>) => void }).onmessage = async (m) => {
    const req = m.data;
    try {
      if (req.op === "close") {
        await sql.close({ timeout: 5 });
        answer({ ok: true, rows: [], changes: 0 });
        return;
      }
      const result = req.params.length ? await sql.unsafe(req.sql, req.params as unknown[]) : await sql.unsafe(req.sql);
      const rows = Array.isArray(result) ? plain(result as Record<string, unknown>[]) : [];
      answer({ ok: true, rows, changes: Number((result as { count?: number }).count ?? 0) });
    } catch (err) {
      const x = err as { message?: string; code?: string; errno?: string };
      answer({ ok: false, message: x?.message ?? String(err), code: x?.errno ?? x?.code });
    }
  };
};
