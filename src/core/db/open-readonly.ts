import { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";
import { DataError, fsError, PermissionFailure } from "../errors";
import type { DbDriver } from "./driver";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations";
import { Db } from "./open";
import { openPostgres } from "./pg-open";
import { tightenPrivateDb } from "./private-files";
import { SqliteDriver } from "./sqlite-driver";
import { isPostgresUrl, sqlitePathOf } from "./url";

/**
 * The database of a command that only reads (image/node list and show, table dump, noderange):
 * it must work where xcimg cannot write — a read-only mount, a directory or file the user cannot
 * write, a backup copy — and must never create or change anything there.
 *
 * - no database file yet: an empty in-memory one (nothing is created on disk);
 * - the file opens read-only at the current schema: used directly, so other processes' commits
 *   are seen as usual;
 * - else (a WAL database in a directory where SQLite cannot create its -shm file, or an older
 *   schema): the file's bytes are loaded into memory and migrated there. SQLite refuses to
 *   deserialize a WAL database, so the copy's header is switched to rollback journaling (bytes
 *   18-19, the file format's read/write versions); the file itself is not touched. Changes still
 *   in a -wal file that no writer checkpointed are not seen then.
 * Every write through the result fails with exit 77.
 *
 * PostgreSQL has none of these cases: the server owns its files and a user without write
 * privileges can still SELECT, so a reading command uses the normal connection (pg-open.ts),
 * with the same refusal of any write through Db.write().
 */
export class ReadOnlyDb extends Db {
  constructor(
    driver: DbDriver,
    /** The bytes the in-memory copy was made from, for the noderange worker to load too. */
    readonly image?: Uint8Array,
  ) {
    super(driver);
  }

  override write<T>(_fn: () => T): T {
    throw new PermissionFailure(`cannot write the database ${this.path}: this command only reads it`, {
      hint: "this is a bug in xcimg: a reading command tried to write; report it",
    });
  }
}

function migrateInMemory(sqlite: Database, path: string): void {
  const current = (sqlite.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > SCHEMA_VERSION) {
    throw new DataError(`database ${path} has schema version ${current}, newer than this xcimg knows (${SCHEMA_VERSION})`, {
      hint: "use the xcimg release that wrote it, or a newer one",
    });
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    for (const stmt of m.sql) sqlite.exec(stmt);
    sqlite.exec(`PRAGMA user_version = ${m.version}`);
  }
}

/** `target` is `[db] url` or a SQLite path, as openDb takes. */
export function openDbReadOnly(target: string, info?: (msg: string) => void): ReadOnlyDb {
  if (isPostgresUrl(target)) return new ReadOnlyDb(openPostgres(target));
  const path = sqlitePathOf(target);
  if (path !== ":memory:" && existsSync(path)) tightenPrivateDb(path, info, true); // it holds the passwd table's passwords
  if (path === ":memory:" || !existsSync(path)) {
    const sqlite = new Database(":memory:", { strict: true });
    migrateInMemory(sqlite, path);
    return new ReadOnlyDb(new SqliteDriver(sqlite, ":memory:"));
  }
  try {
    const sqlite = new Database(path, { readonly: true, strict: true });
    try {
      sqlite.exec("PRAGMA busy_timeout = 15000");
      const { user_version } = sqlite.query("PRAGMA user_version").get() as { user_version: number };
      if (user_version === SCHEMA_VERSION) return new ReadOnlyDb(new SqliteDriver(sqlite, path));
      if (user_version > SCHEMA_VERSION) migrateInMemory(sqlite, path); // throws the version error
    } catch (e) {
      sqlite.close();
      if (e instanceof DataError) throw e;
    }
    sqlite.close();
  } catch (e) {
    if (e instanceof DataError) throw e;
    // fall through to the in-memory copy
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw fsError(e, `cannot read the database ${path}`);
  }
  const copy = Uint8Array.from(bytes);
  if (copy.length >= 100 && copy[18] === 2) {
    copy[18] = 1;
    copy[19] = 1;
  }
  let sqlite: Database;
  try {
    sqlite = Database.deserialize(copy, { strict: true });
    migrateInMemory(sqlite, path);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot read the database ${path}: ${(e as Error).message}`, { hint: "is it an xcimg database? (db.path in the config)" });
  }
  return new ReadOnlyDb(new SqliteDriver(sqlite, path), sqlite.serialize());
}
