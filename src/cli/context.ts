import type { Context } from "../core/context";
import { type Db, openDb } from "../core/db/open";
import { openDbReadOnly } from "../core/db/open-readonly";

export type { Context };

/** Build the invocation's context; the database opens on first use and closes at exit. */
export function makeContext(parts: Omit<Context, "db">, opts: { readOnly?: boolean } = {}): Context & { closeDb(): void } {
  let db: Db | null = null;
  return {
    ...parts,
    db() {
      // [db] url (PostgreSQL or sqlite:///) wins over db.path; both openers take either
      const target = parts.config["db.url"] || parts.config["db.path"];
      const info = (m: string) => parts.log.info(m);
      db ??= opts.readOnly ? openDbReadOnly(target, info) : openDb(target, info);
      return db;
    },
    closeDb() {
      db?.close();
      db = null;
    },
  };
}
