import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyDatabase } from "../../../src/core/db/copy";
import { openDb } from "../../../src/core/db/open";
import { upsert } from "../../../src/core/db/rows";
import { changedTables, tableDigests } from "../../../src/core/sn/table-digests";
import { openTestDb } from "../../helpers/test-db";

/**
 * `sn status` names the tables an SN lags behind by comparing per-table digests of the snapshot
 * it got with the MN's tables now (src/core/sn/table-digests.ts). They must not depend on row
 * order or engine (the snapshot of a PostgreSQL MN is a SQLite copy), and must see any change.
 * Also run on PostgreSQL by test/core/db/suites-on-postgres.test.ts.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-table-digests-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("per-table digests", () => {
  test("the same rows in another order, or copied into another database, give the same digests", () => {
    const a = openTestDb(join(dir, "a.db"));
    const b = openTestDb(join(dir, "b.db"));
    const rows = [
      ["cn1", "compute,all"],
      ["cn2", "compute,all"],
      ["cn3", "login,all"],
    ] as const;
    for (const [node, groups] of rows) upsert(a, "nodelist", { node }, { groups });
    for (const [node, groups] of [...rows].reverse()) upsert(b, "nodelist", { node }, { groups });
    upsert(a, "site", { key: "domain" }, { value: "x.example" });
    upsert(b, "site", { key: "domain" }, { value: "x.example" });
    const da = tableDigests(a);
    expect(changedTables(da, tableDigests(b))).toEqual([]);
    expect(Object.keys(da)).toContain("noderes");
    const target = a.driver.target;
    a.close();
    const copyPath = join(dir, "copy.db");
    copyDatabase(target, copyPath);
    const copy = openDb(copyPath);
    expect(changedTables(da, tableDigests(copy))).toEqual([]);
    copy.close();
    b.close();
  });

  test("a changed value, a new row, a removed row, a value emptied: exactly those tables differ", () => {
    const db = openTestDb(join(dir, "c.db"));
    upsert(db, "nodelist", { node: "cn1" }, { groups: "all" });
    upsert(db, "noderes", { node: "cn1" }, { servicenode: "sn1" });
    upsert(db, "mac", { node: "cn1" }, { mac: "52:54:00:00:00:01" });
    const then = tableDigests(db);
    upsert(db, "nodelist", { node: "cn1" }, { groups: "all,rack1" });
    expect(changedTables(then, tableDigests(db))).toEqual(["nodelist"]);
    upsert(db, "hosts", { node: "cn1" }, { ip: "10.0.0.1" });
    expect(changedTables(then, tableDigests(db))).toEqual(["hosts", "nodelist"]);
    upsert(db, "noderes", { node: "cn1" }, { servicenode: null });
    expect(changedTables(then, tableDigests(db))).toEqual(["hosts", "nodelist", "noderes"]);
    db.run(`DELETE FROM mac WHERE node = 'cn1'`);
    expect(changedTables(then, tableDigests(db))).toEqual(["hosts", "mac", "nodelist", "noderes"]);
    db.close();
  });
});
