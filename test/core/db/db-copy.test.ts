/**
 * `xcimg db copy` between SQLite and a real PostgreSQL server, both ways (xCAT's
 * dumpxCATdb/restorexCATdb): every table's tabdump bytes equal on both sides, counts per
 * table printed, and all or nothing — a target with rows is refused, a row the target
 * refuses leaves it exactly as it was.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TABLE_NAMES } from "../../../src/core/db/tables";
import { createDatabase, havePostgres, type PgServer, psql, startPostgres } from "../../helpers/postgres";
import { Sandbox } from "../../helpers/sandbox";

const enabled = havePostgres();
let pg: PgServer;
let sb: Sandbox;

beforeAll(async () => {
  if (!enabled) return;
  pg = await startPostgres();
  sb = new Sandbox("dbcopy");
  const steps = [
    ["node", "set", "cn[01-40]", "groups=compute,all", "os=rhels9.4", "arch=x86_64", "netboot=xnba"],
    ["node", "set", "cn07", "mac=52:54:00:00:00:07", "ip=10.0.0.7", "groups,=gpu"],
    [
      "image",
      "set",
      "rhels9.4-x86_64-netboot-compute",
      "provmethod=netboot",
      "osvers=rhels9.4",
      "osarch=x86_64",
      "profile=compute",
      "rootimgdir=/install/netboot/rhels9.4/x86_64/compute",
    ],
    ["table", "set", "site", "key=domain", "value=cluster.example", 'comments=quotes " and, commas'],
    ["table", "set", "litefile", "image=ALL,file=/etc/hosts", "options=tmpfs"],
    ["table", "set", "passwd", "key=system,username=root", "password=$6$salt$hash"],
    ["node", "rm", "cn03"],
  ];
  for (const s of steps) expect((await sb.bin(s)).code).toBe(0);
  // a capture record, as capture writes it
  const db = new Database(sb.dbPath);
  db.query(
    `INSERT INTO xcimg_capture (imagename, node, seconds, files, bytes, kernels) VALUES ('rhels9.4-x86_64-netboot-compute', 'golden', 12.5, 41234, 5368709120, '["5.14.0"]')`,
  ).run();
  db.close();
});
afterAll(() => {
  pg?.stop();
  sb?.cleanup();
});

async function dumps(env: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (const t of TABLE_NAMES) out.push((await sb.bin(["table", "dump", t], { env })).stdout);
  return out;
}

describe.skipIf(!enabled)("xcimg db copy", () => {
  test("SQLite → PostgreSQL → SQLite: every table's dump is the same bytes, counts per table printed", async () => {
    const url = createDatabase(pg.base, "copy");
    const r = await sb.bin(["db", "copy", sb.dbPath, url]);
    expect(r.stderr).toContain("Copied 1");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nodelist       39\n");
    expect(r.stdout).toContain("xcimg_capture  1\n");
    expect(r.stdout.trim().split("\n")).toHaveLength(TABLE_NAMES.length + 1);
    const original = await dumps({});
    expect(await dumps({ XCIMG_DB_URL: url })).toEqual(original);
    const db = new URL(url).pathname.slice(1);
    expect(psql(pg.base, db, "SELECT seconds, files, bytes, kernels FROM xcimg_capture")).toBe('12.5|41234|5368709120|["5.14.0"]\n');

    const back = join(sb.dir, "back.db");
    const r2 = await sb.bin(["--json", "db", "copy", url, `sqlite://${back}`]);
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.stdout).tables.find((t: { table: string }) => t.table === "nodelist").rows).toBe(39);
    expect(await dumps({ XCIMG_DB_URL: `sqlite://${back}` })).toEqual(original);
    const cap = new Database(back).query("SELECT seconds, files, bytes FROM xcimg_capture").get();
    expect(cap).toEqual({ seconds: 12.5, files: 41234, bytes: 5368709120 });
  }, 120_000);

  test("a target with rows is refused (exit 64) and left alone; --replace overwrites", async () => {
    const url = createDatabase(pg.base, "full");
    expect((await sb.bin(["node", "set", "other1", "groups=x"], { env: { XCIMG_DB_URL: url } })).code).toBe(0);
    const r = await sb.bin(["db", "copy", sb.dbPath, url]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("already has rows in nodelist");
    expect(r.stderr).toContain("hint:");
    expect((await sb.bin(["node", "list"], { env: { XCIMG_DB_URL: url } })).stdout).toBe("other1\n");
    expect((await sb.bin(["db", "copy", "--replace", sb.dbPath, url])).code).toBe(0);
    expect(await dumps({ XCIMG_DB_URL: url })).toEqual(await dumps({}));
  }, 120_000);

  test("a row the target refuses aborts the whole copy: nothing of it lands (exit 65, the table named)", async () => {
    const url = createDatabase(pg.base, "atomic");
    expect((await sb.bin(["node", "set", "keep1", "groups=x", "os=sles15"], { env: { XCIMG_DB_URL: url } })).code).toBe(0);
    const before = await dumps({ XCIMG_DB_URL: url });
    // xCAT's Table.pm makes key columns VARCHAR(128) on PostgreSQL; SQLite takes any length
    const src = join(sb.dir, "long.db");
    expect((await sb.bin(["db", "copy", sb.dbPath, src])).code).toBe(0);
    const db = new Database(src);
    db.query("INSERT INTO site (key, value) VALUES (?, 'v')").run("k".repeat(200));
    db.close();
    const r = await sb.bin(["db", "copy", "--replace", src, url]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("Error: cannot copy table site into postgresql://xcimg@127.0.0.1");
    expect(r.stderr).toContain("nothing was copied");
    expect(await dumps({ XCIMG_DB_URL: url })).toEqual(before);
  }, 120_000);

  test("a missing source file is 'not found' (66) and is not created", async () => {
    const missing = join(sb.dir, "nope.db");
    const r = await sb.bin(["db", "copy", missing, createDatabase(pg.base, "nosrc")]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(`Error: no SQLite database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });
});
