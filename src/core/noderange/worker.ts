/**
 * Expands one noderange off the main thread (interruptible.ts explains why). It opens the
 * database read-only by path — a handle cannot cross threads — and answers with the node
 * names or the error's class name, message and hint. Listed as an extra entry point in
 * scripts/build.ts so the compiled binary embeds it.
 */
import { Database } from "bun:sqlite";
import type { Db } from "../db/open";
import { XcimgError } from "../errors";
import { dbNodeSource } from "./db-source";
import { expandNoderange } from "./expand";

export interface ExpandRequest {
  dbPath: string;
  expr: string;
  /** A read-only command's in-memory copy of the database (db/open-readonly.ts), when it could not open the file. */
  image?: Uint8Array;
  verify: boolean;
  env: Record<string, string | undefined>;
}

export type ExpandReply = { nodes: string[] } | { error: { name: string; message: string; hint?: string } };

declare const self: Worker;

self.onmessage = (e: MessageEvent<ExpandRequest>) => {
  const { dbPath, expr, verify, env, image } = e.data;
  let reply: ExpandReply;
  let sqlite: Database | undefined;
  try {
    sqlite = image ? Database.deserialize(image, { readonly: true, strict: true }) : new Database(dbPath, { readonly: true });
    sqlite.exec("PRAGMA busy_timeout = 15000");
    reply = { nodes: expandNoderange(expr, dbNodeSource({ sqlite } as Db), { verify, env }) };
  } catch (err) {
    const x = err as Error;
    reply = { error: { name: err instanceof XcimgError ? err.name : "InternalError", message: x?.message ?? String(err), hint: err instanceof XcimgError ? err.hint : undefined } };
  } finally {
    sqlite?.close();
  }
  self.postMessage(reply);
};
