import { type Db, openDb } from "../../src/core/db/open";
import { createDatabase } from "./postgres";

/**
 * The engine the database tests run on: SQLite, or — when a test file has started a server
 * and set XCIMG_TEST_PG_BASE (test/core/db/suites-on-postgres.test.ts) — a fresh
 * PostgreSQL database each time, so the same assertions run on both engines.
 */
export function testDbTarget(sqlitePath: string): string {
  const base = process.env.XCIMG_TEST_PG_BASE;
  return base ? createDatabase(base) : sqlitePath;
}

export function openTestDb(sqlitePath: string): Db {
  return openDb(testDbTarget(sqlitePath));
}
