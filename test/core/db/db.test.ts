import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMA_VERSION } from "../../../src/core/db/migrations";
import { openDb } from "../../../src/core/db/open";
import { allRows, getRow, upsert } from "../../../src/core/db/rows";
import { TABLES } from "../../../src/core/db/tables";
import { DataError } from "../../../src/core/errors";

const dir = mkdtempSync(join(tmpdir(), "xcimg-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("database", () => {
  test("created on first use with every table, in WAL mode, at the schema version", () => {
    const path = join(dir, "sub", "dir", "x.db");
    const db = openDb(path);
    const tables = (db.sqlite.query("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]).map((r) => r.name).sort();
    expect(tables).toEqual([...Object.keys(TABLES), "xcimg_capture"].sort());
    expect((db.sqlite.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    expect((db.sqlite.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    const cols = (db.sqlite.query("PRAGMA table_info(osimage)").all() as { name: string }[]).map((c) => c.name);
    expect(cols).toEqual([...TABLES.osimage.cols]);
    db.close();
  });

  test("reopening keeps data and does not re-run migrations", () => {
    const path = join(dir, "reopen.db");
    const a = openDb(path);
    upsert(a, "site", { key: "master" }, { value: "10.0.0.1" });
    a.close();
    const b = openDb(path);
    expect(getRow(b, "site", { key: "master" })).toEqual({ key: "master", value: "10.0.0.1" });
    b.close();
  });

  test("a database from a newer xcimg is refused, untouched", () => {
    const path = join(dir, "newer.db");
    const raw = new Database(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    expect(() => openDb(path)).toThrow(DataError);
    const again = new Database(path);
    expect((again.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION + 5);
    again.close();
  });

  test("write() is all or nothing", () => {
    const db = openDb(join(dir, "tx.db"));
    expect(() =>
      db.write(() => {
        upsert(db, "site", { key: "a" }, { value: "1" });
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(allRows(db, "site")).toEqual([]);
    db.close();
  });

  test("upsert updates only given columns; empty clears", () => {
    const db = openDb(join(dir, "upsert.db"));
    upsert(db, "noderes", { node: "cn1" }, { netboot: "xnba", xcatmaster: "10.0.0.1" });
    upsert(db, "noderes", { node: "cn1" }, { netboot: "grub2" });
    expect(getRow(db, "noderes", { node: "cn1" })).toEqual({ node: "cn1", netboot: "grub2", xcatmaster: "10.0.0.1" });
    upsert(db, "noderes", { node: "cn1" }, { xcatmaster: "" });
    expect(getRow(db, "noderes", { node: "cn1" })).toEqual({ node: "cn1", netboot: "grub2" });
    db.close();
  });
});
