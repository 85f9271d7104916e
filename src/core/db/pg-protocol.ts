import type { Param, RawRow } from "./driver";

/** Messages between pg-driver.ts (main thread) and pg-worker.ts (the connection's owner). */
export interface PgStart {
  url: string;
  port: MessagePort;
  /** Int32 slot 0: 0 while a request runs, 1 when its reply has been posted. */
  flag: SharedArrayBuffer;
}

export type PgRequest = { op: "query"; sql: string; params: readonly Param[] } | { op: "close" };

export type PgReply = { ok: true; rows: RawRow[]; changes: number } | { ok: false; message: string; code?: string };
