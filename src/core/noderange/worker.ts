/**
 * Expands one noderange off the main thread (interruptible.ts explains why). It opens the
 * database read-only by path or url — a handle cannot cross threads — and answers with the
 * node names or the error's class name, message and hint. Listed as an extra entry point in
 * scripts/build.ts so the compiled binary embeds it.
 */
import { Database } from "bun:sqlite";
import type { DbDriver } from "../db/driver";
import { Db } from "../db/open";
import { PgDriver } from "../db/pg-driver";
import { SqliteDriver } from "../db/sqlite-driver";
import { isPostgresUrl } from "../db/url";
import { XcimgError } from "../errors";
import { dbNodeSource } from "./db-source";
import { expandNoderange } from "./expand";

export interface ExpandRequest {
  /** DbDriver.target: the SQLite file or the PostgreSQL url */
  dbTarget: string;
  expr: string;
  /** A read-only command's in-memory copy of the database (db/open-readonly.ts), when it could not open the file. */
  image?: Uint8Array;
  verify: boolean;
  env: Record<string, string | undefined>;
}

export type ExpandReply = { nodes: string[] } | { error: { name: string; message: string; hint?: string } };

declare const self: Worker;

self.onmessage = (e: MessageEvent<ExpandRequest>) => {
  const { dbTarget, expr, verify, env, image } = e.data;
  let reply: ExpandReply;
  let driver: DbDriver | undefined;
  try {
    if (isPostgresUrl(dbTarget)) {
      driver = new PgDriver(dbTarget); // the main thread has checked the schema already
    } else {
      // a read-only command's in-memory copy when it could not open the file itself
      const sqlite = image ? Database.deserialize(image, { readonly: true, strict: true }) : new Database(dbTarget, { readonly: true });
      driver = new SqliteDriver(sqlite, dbTarget);
      sqlite.exec("PRAGMA busy_timeout = 15000");
    }
    reply = { nodes: expandNoderange(expr, dbNodeSource(new Db(driver)), { verify, env }) };
  } catch (err) {
    const x = err as Error;
    reply = {
      error: {
        name: err instanceof XcimgError ? err.name : "InternalError",
        message: x?.message ?? String(err),
        hint: err instanceof XcimgError ? err.hint : undefined,
      },
    };
  } finally {
    driver?.close();
  }
  self.postMessage(reply);
};
