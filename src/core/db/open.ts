import { Database } from "bun:sqlite";
import { CantCreateError, DataError, XcimgError } from "../errors";
import type { DbDriver, Param, RawRow } from "./driver";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations";
import { openPostgres } from "./pg-open";
import { preparePrivateDb } from "./private-files";
import { SqliteDriver } from "./sqlite-driver";
import { isPostgresUrl, sqlitePathOf } from "./url";
import { writeDenied } from "./write-denied";

/**
 * The database handle every command gets. Writes go through `write()`, one write transaction
 * per command (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN + an advisory lock every xcimg
 * writer takes), so a failed command leaves the tables as they were and two xcimg processes
 * serialise instead of failing with "database is locked" or losing an update.
 */
export class Db {
  private depth = 0;

  constructor(readonly driver: DbDriver) {}

  get engine() {
    return this.driver.engine;
  }

  /** The SQLite file (":memory:" for tests), or the PostgreSQL url without its password. */
  get path(): string {
    return this.driver.location;
  }

  /** The bun:sqlite handle, for SQLite-only code (tests, tools); on PostgreSQL there is none. */
  get sqlite(): Database {
    if (this.driver instanceof SqliteDriver) return this.driver.sqlite;
    throw new Error("internal: db.sqlite used on a PostgreSQL database; go through Db.all/get/run");
  }

  all<T = RawRow>(sql: string, ...params: Param[]): T[] {
    return this.driver.all(sql, params) as T[];
  }

  get<T = RawRow>(sql: string, ...params: Param[]): T | null {
    return this.driver.get(sql, params) as T | null;
  }

  run(sql: string, ...params: Param[]): { changes: number } {
    return this.driver.run(sql, params);
  }

  exec(sql: string): void {
    this.driver.exec(sql);
  }

  /** Run fn in one write transaction (a savepoint when already inside one). */
  write<T>(fn: () => T): T {
    const nested = this.depth > 0;
    const sp = `xcimg_sp${this.depth}`;
    if (nested) this.driver.exec(`SAVEPOINT ${sp}`);
    else this.beginWrite();
    this.depth++;
    try {
      const result = fn();
      if (nested) this.driver.exec(`RELEASE SAVEPOINT ${sp}`);
      else this.driver.commit();
      return result;
    } catch (e) {
      try {
        if (nested) this.driver.exec(`ROLLBACK TO SAVEPOINT ${sp}; RELEASE SAVEPOINT ${sp}`);
        else this.driver.rollback();
      } catch {
        // the connection is gone: the server rolls the transaction back itself
      }
      throw this.denied(e);
    } finally {
      this.depth--;
    }
  }

  private beginWrite(): void {
    try {
      this.driver.beginWrite();
    } catch (e) {
      throw this.denied(e);
    }
  }

  /**
   * SQLite on a file this user cannot write fails at BEGIN IMMEDIATE or at the first write:
   * one clear message and exit 77 (write-denied.ts). xcimg's own errors pass unchanged, and
   * the PostgreSQL driver maps the server's privilege errors itself (pg-driver.ts).
   */
  private denied(e: unknown): unknown {
    if (this.engine !== "sqlite" || e instanceof XcimgError) return e;
    return writeDenied(this.path, e) ?? e;
  }

  close(): void {
    this.driver.close();
  }
}

const BUSY_TIMEOUT_MS = 15000;

/**
 * Open `[db] url` (postgresql://..., sqlite:///path) or a SQLite file path, migrating it on first use.
 * `info` hears about an old world-readable SQLite file being made private (private-files.ts);
 * a PostgreSQL server keeps its own files, so there is nothing to tighten there.
 */
export function openDb(target: string, info?: (msg: string) => void): Db {
  if (isPostgresUrl(target)) return new Db(openPostgres(target));
  return new Db(openSqlite(sqlitePathOf(target), info));
}

function openSqlite(path: string, info?: (msg: string) => void): SqliteDriver {
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
  return new SqliteDriver(sqlite, path);
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
