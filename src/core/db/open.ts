import { Database } from "bun:sqlite";
import { CantCreateError, DataError, XcimgError } from "../errors";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations";
import { preparePrivateDb } from "./private-files";
import { writeDenied } from "./write-denied";

/**
 * The database handle every command gets. Writes go through `write()`, one IMMEDIATE
 * transaction per command, so a failed command leaves the tables as they were and two
 * xcimg processes serialise instead of failing with "database is locked".
 */
export class Db {
  constructor(
    readonly sqlite: Database,
    readonly path: string,
  ) {}

  /** Run fn in one IMMEDIATE transaction (a savepoint when already inside one). */
  write<T>(fn: () => T): T {
    if (this.sqlite.inTransaction) return this.sqlite.transaction(fn)();
    try {
      return this.sqlite.transaction(fn).immediate();
    } catch (e) {
      throw writeDenied(this.path, e) ?? e;
    }
  }

  close(): void {
    this.sqlite.close();
  }
}

const BUSY_TIMEOUT_MS = 15000;

/** `info` hears about an old world-readable database being made private (private-files.ts). */
export function openDb(path: string, info?: (msg: string) => void): Db {
  if (path !== ":memory:") {
    try {
      preparePrivateDb(path, info);
    } catch (e) {
      // a read-only mount or directory: exit 77 with one clear message (write-denied.ts)
      throw writeDenied(path, (e as Error).cause ?? e) ?? e;
    }
  }
  let sqlite: Database;
  try {
    sqlite = new Database(path, { create: true, strict: true });
  } catch (e) {
    const denied = writeDenied(path, e);
    if (denied) throw denied;
    throw new CantCreateError(`cannot open database ${path}: ${(e as Error).message}`, { hint: "check db.path in the config and the directory's permissions" });
  }
  try {
    sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (path !== ":memory:") enableWal(sqlite);
    sqlite.exec("PRAGMA synchronous = NORMAL");
    migrate(sqlite, path);
  } catch (e) {
    sqlite.close();
    if (e instanceof XcimgError) throw e;
    throw writeDenied(path, e) ?? new CantCreateError(`cannot initialise database ${path}: ${(e as Error).message}`);
  }
  return new Db(sqlite, path);
}

/**
 * Switching a fresh database to WAL takes a lock the busy handler does not wait for (two
 * processes racing on a new file fail 1 time in 3, bun.md §4), so retry it ourselves.
 */
function enableWal(sqlite: Database): void {
  for (let attempt = 0; ; attempt++) {
    try {
      const row = sqlite.query("PRAGMA journal_mode = WAL").get() as { journal_mode: string } | null;
      if (row?.journal_mode === "wal") return;
      throw new Error(`journal_mode is ${row?.journal_mode}`);
    } catch (e) {
      if (attempt >= 200 || !/busy|locked/i.test(String(e))) throw e;
      Bun.sleepSync(10 + Math.floor(Math.random() * 40));
    }
  }
}

function userVersion(sqlite: Database): number {
  return (sqlite.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

function migrate(sqlite: Database, path: string): void {
  if (userVersion(sqlite) === SCHEMA_VERSION) return;
  sqlite
    .transaction(() => {
      const current = userVersion(sqlite); // re-read under the write lock: another process may have migrated
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
    })
    .immediate();
}
