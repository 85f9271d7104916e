import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { openDb } from "../../../src/core/db/open";
import { setNodes } from "../../../src/core/defs/node";
import { DataError } from "../../../src/core/errors";
import { MemoryLogger } from "../../../src/core/log";
import { dropSnapshot, makeSnapshot } from "../../../src/core/sn/mn-snapshot";

/** The MN's side of sn sync: a consistent, private copy of the definitions. */
const dir = mkdtempSync(join(tmpdir(), "xcimg-sn-snap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = loadConfig({ env: { XCIMG_DB_PATH: join(dir, "xcimg.db"), XCIMG_INSTALLDIR: join(dir, "install"), HOME: dir } });

const quiet = new MemoryLogger();

describe("sn snapshot", () => {
  test("VACUUM INTO while another process holds an open write transaction: committed rows only, 0600", () => {
    const db = openDb(config["db.path"]);
    setNodes(db, ["cn01"], { groups: "all" });
    db.close();
    const writer = new Database(config["db.path"]);
    writer.exec("BEGIN IMMEDIATE");
    writer.exec("INSERT INTO nodelist (node, groups) VALUES ('half', 'all')");
    try {
      const snap = makeSnapshot(config, quiet);
      expect(statSync(snap.path).mode & 0o777).toBe(0o600);
      expect(snap.installdir).toBe(join(dir, "install"));
      const copy = new Database(snap.path, { readonly: true });
      const nodes = copy.query("SELECT node FROM nodelist ORDER BY node").all() as { node: string }[];
      copy.close();
      expect(nodes.map((n) => n.node)).toEqual(["cn01"]);
      expect(dropSnapshot(config, snap.path)).toBe(true);
      expect(existsSync(snap.path)).toBe(false);
    } finally {
      writer.exec("ROLLBACK");
      writer.close();
    }
  });

  test("--drop removes only snapshot files", () => {
    expect(() => dropSnapshot(config, "/etc/passwd")).toThrow(DataError);
    expect(() => dropSnapshot(config, join(dir, "sn-snapshots", "..", "xcimg.db"))).toThrow(DataError);
    expect(existsSync(config["db.path"])).toBe(true);
  });
});
