import { join } from "node:path";
import { loadConfig } from "../../src/core/config/load";
import type { Config } from "../../src/core/config/schema";
import { type Db, openDb } from "../../src/core/db/open";
import { ROOT, Sandbox } from "./sandbox";

export const FIXTURES = join(ROOT, "test", "fixtures", "install");
export const TEMPLATES = join(FIXTURES, "templates");

/** Rows for xCAT's passwd table (schema version 3; the CREATE is a no-op on current databases). */
export function createPasswdTable(db: Db, rows: { key: string; username: string; password: string; cryptmethod?: string }[]): void {
  db.sqlite.exec(
    `CREATE TABLE IF NOT EXISTS passwd ("key" TEXT NOT NULL, "username" TEXT, "password" TEXT, "cryptmethod" TEXT, "authdomain" TEXT, "comments" TEXT, "disable" TEXT, UNIQUE ("key", "username"))`,
  );
  const ins = db.sqlite.query(`INSERT OR REPLACE INTO passwd ("key", "username", "password", "cryptmethod") VALUES (?, ?, ?, ?)`);
  for (const r of rows) ins.run(r.key, r.username, r.password, r.cryptmethod ?? null);
}

/**
 * A site with two compute nodes: cn01 with its own nodetype/noderes rows, cn02 getting them
 * from its group "rack2" (xCAT group inheritance), both with MACs and the site rows the
 * templates read.
 */
export async function installSite(name: string): Promise<{ sb: Sandbox; db: Db; config: Config }> {
  const sb = new Sandbox(name);
  const must = async (...argv: string[]) => {
    const r = await sb.run(...argv);
    if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} failed (${r.code}): ${r.stderr}`);
  };
  await must(
    "node",
    "set",
    "cn01",
    "groups=compute,all",
    "os=rhels9.4",
    "arch=x86_64",
    "profile=compute",
    "nfsserver=10.0.0.5",
    "mac=52:54:00:AA:00:01",
    "serialport=0",
    "serialspeed=115200",
  );
  await must("table", "set", "nodetype", "node=rack2", "os=rocky9.4", "arch=x86_64", "profile=hpc");
  await must("table", "set", "noderes", "node=rack2", "xcatmaster=10.0.2.2");
  await must("node", "set", "cn02.cluster", "groups=rack2,compute,all", "mac=52:54:00:aa:00:02!cn02.cluster|52:54:00:aa:00:99!cn02-ib");
  await must("table", "set", "site", "key=timezone", "value=Europe/Berlin");
  await must("table", "set", "site", "key=domain", "value=cluster.example");
  const config = loadConfig({ file: sb.config });
  const db = openDb(sb.dbPath);
  createPasswdTable(db, [{ key: "system", username: "root", password: "cluster" }]);
  return { sb, db, config };
}
