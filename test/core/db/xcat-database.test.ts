/**
 * xcimg pointed at the database xCAT itself runs on (pgsqlsetup's xcatdb, tables made by
 * xCAT's Table.pm as user xcatadm): it reads and writes xCAT's rows, never changes a table
 * definition of xCAT's, creates only what is missing (xCAT tables it needs that the site
 * never used, and its own xcimg_* tables), and refuses a schema it does not recognise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TABLES, type TableName } from "../../../src/core/db/tables";
import { havePostgres, type PgServer, psql, startPostgres } from "../../helpers/postgres";
import { Sandbox } from "../../helpers/sandbox";

const enabled = havePostgres();
let pg: PgServer;

/** What Table.pm buildcreatestmt sends for Pg: keys VARCHAR(128), the rest TEXT, PRIMARY KEY (keys). */
function xcatDdl(table: TableName, opts: { drop?: string; extra?: string; noKey?: boolean } = {}): string {
  const spec = TABLES[table];
  const cols: string[] = spec.cols
    .filter((c) => c !== opts.drop)
    .map((c) => `"${c}" ${(spec.keys as readonly string[]).includes(c) ? "VARCHAR(128)" : c === "osupdatename" ? "VARCHAR(1024)" : "TEXT"}`);
  if (opts.extra) cols.push(`"${opts.extra}" TEXT`);
  if (!opts.noKey) cols.push(`PRIMARY KEY (${spec.keys.map((k) => `"${k}"`).join(",")})`);
  return `CREATE TABLE ${table} (\n  ${cols.join(",\n  ")}\n);`;
}

/** pgsqlsetup: database xcatdb, user xcatadm; xcatd then creates the tables it uses as xcatadm. */
function xcatDatabase(name: string, tables: string): string {
  psql(pg.base, "postgres", `CREATE DATABASE ${name}`);
  psql(pg.base, name, "GRANT ALL ON SCHEMA public TO xcatadm");
  psql(pg.base, name, `SET ROLE xcatadm; ${tables}`);
  return `postgresql://xcatadm@127.0.0.1:${pg.port}/${name}`;
}

const XCAT_ROWS = `
  INSERT INTO site ("key", "value", "comments", "disable") VALUES ('master', '10.0.0.1', NULL, NULL), ('domain', 'cluster.example', 'the DNS domain', NULL), ('excludenodes', 'cn04', NULL, NULL), ('old', 'x', NULL, '1');
  INSERT INTO nodelist ("node", "groups", "status") VALUES ('cn01', 'compute,all', 'booted'), ('cn02', 'compute,all', 'booted'), ('cn03', 'compute,gpu,all', NULL), ('cn04', 'compute,all', NULL), ('mgt01', 'service,all', NULL);
  INSERT INTO nodetype ("node", "os", "arch", "provmethod") VALUES ('compute', 'rhels9.4', 'x86_64', 'rhels9.4-x86_64-netboot-compute'), ('cn03', 'rhels8.10', 'x86_64', NULL);
  INSERT INTO hosts ("node", "ip") VALUES ('compute', '|\\D+(\\d+)$|10.0.1.($1+100)|');
  INSERT INTO nodehm ("node", "mgt", "consport") VALUES ('compute', 'ipmi', '7');
  INSERT INTO osimage ("imagename", "profile", "imagetype", "provmethod", "osvers", "osarch") VALUES ('rhels9.4-x86_64-netboot-compute', 'compute', 'linux', 'netboot', 'rhels9.4', 'x86_64');
  INSERT INTO linuximage ("imagename", "rootimgdir") VALUES ('rhels9.4-x86_64-netboot-compute', '/install/netboot/rhels9.4/x86_64/compute');
  INSERT INTO networks ("netname", "net", "mask", "gateway") VALUES ('10_0_0_0-255_255_0_0', '10.0.0.0', '255.255.0.0', '10.0.0.254');
  CREATE TABLE nodepos ("node" VARCHAR(128), "rack" TEXT, "u" TEXT, "chassis" TEXT, "slot" TEXT, "room" TEXT, "height" TEXT, "comments" TEXT, "disable" TEXT, PRIMARY KEY ("node"));
  INSERT INTO nodepos ("node", "rack", "u") VALUES ('cn01', 'r1', '12');
`;

/** Every column's definition, constraint and owner of the tables given: what "never alters" compares. */
function catalog(db: string, tables: string[]): string {
  const list = tables.map((t) => `'${t}'`).join(",");
  return psql(
    pg.base,
    db,
    `SELECT c.table_name, c.ordinal_position, c.column_name, c.data_type, coalesce(c.character_maximum_length::text, ''), c.is_nullable, coalesce(c.column_default, '')
       FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name IN (${list}) ORDER BY 1, 2;
     SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid::regclass::text IN (${list}) ORDER BY 1, 2;
     SELECT tablename, tableowner FROM pg_tables WHERE tablename IN (${list}) ORDER BY 1;
     SELECT indexdef FROM pg_indexes WHERE tablename IN (${list}) ORDER BY 1;
     SELECT tgname FROM pg_trigger WHERE tgrelid::regclass::text IN (${list});`,
  );
}

const XCAT_TABLES: TableName[] = [
  "site",
  "nodelist",
  "nodetype",
  "hosts",
  "nodehm",
  "noderes",
  "osimage",
  "linuximage",
  "litefile",
  "chain",
  "mac",
  "networks",
];

beforeAll(async () => {
  if (!enabled) return;
  pg = await startPostgres();
  psql(pg.base, "postgres", "CREATE ROLE xcatadm LOGIN");
});
afterAll(() => pg?.stop());

describe.skipIf(!enabled)("xcimg on xCAT's own PostgreSQL database", () => {
  test("reads and writes xCAT's rows; xCAT's table definitions stay exactly as they were", async () => {
    const ddl = XCAT_TABLES.map((t) => xcatDdl(t, t === "nodehm" ? { extra: "consport" } : {})).join("\n");
    const url = xcatDatabase("xcatdb", ddl + XCAT_ROWS);
    // nodepos: an xCAT table xcimg does not know, left alone
    const before = catalog("xcatdb", [...XCAT_TABLES, "nodepos"]);
    const networks = psql(pg.base, "xcatdb", "SELECT * FROM networks");
    const nodepos = psql(pg.base, "xcatdb", "SELECT * FROM nodepos");
    const sb = new Sandbox("xcatdb");
    sb.dbUrl = url;
    try {
      // reading: groups, inheritance from group rows, xCAT's regex values, site.excludenodes
      expect((await sb.bin(["node", "list", "compute"])).stdout).toBe("cn01\ncn02\ncn03\n");
      expect((await sb.bin(["node", "list", "nodehm.mgt==ipmi"])).stdout).toBe("cn01\ncn02\ncn03\n");
      const shown = JSON.parse((await sb.bin(["--json", "node", "show", "cn02,cn03"])).stdout);
      expect(shown.cn02).toMatchObject({ os: "rhels9.4", ip: "10.0.1.102", provmethod: "rhels9.4-x86_64-netboot-compute", status: "booted" });
      expect(shown.cn03.os).toBe("rhels8.10");
      expect((await sb.bin(["image", "list"])).stdout).toBe("rhels9.4-x86_64-netboot-compute\n");
      expect((await sb.bin(["table", "dump", "site"])).stdout).toBe(
        '#key,value,comments,disable\n"master","10.0.0.1",,\n"domain","cluster.example","the DNS domain",\n"excludenodes","cn04",,\n"old","x",,"1"\n',
      );
      // xCAT's networks table, which xcimg dhcp reads (migration 4 on SQLite)
      expect((await sb.bin(["table", "dump", "networks"])).stdout).toContain('"10_0_0_0-255_255_0_0","10.0.0.0","255.255.0.0",,"10.0.0.254"');

      // writing: xCAT sees xcimg's changes in its own rows
      expect((await sb.bin(["node", "set", "cn01", "netboot=xnba", "groups,=rack1"])).code).toBe(0);
      expect((await sb.bin(["image", "set", "rhels9.4-x86_64-netboot-compute", "exlist=/install/custom/compute.exlist"])).code).toBe(0);
      expect((await sb.bin(["node", "rm", "mgt01"])).code).toBe(0);
      expect(psql(pg.base, "xcatdb", `SELECT "groups" FROM nodelist WHERE "node" = 'cn01'`)).toBe("compute,all,rack1\n");
      expect(psql(pg.base, "xcatdb", `SELECT "netboot" FROM noderes WHERE "node" = 'cn01'`)).toBe("xnba\n");
      expect(psql(pg.base, "xcatdb", `SELECT "exlist" FROM linuximage`)).toBe("/install/custom/compute.exlist\n");
      expect(psql(pg.base, "xcatdb", `SELECT count(*) FROM nodelist WHERE "node" = 'mgt01'`)).toBe("0\n");
      expect(psql(pg.base, "xcatdb", `SELECT "consport" FROM nodehm WHERE "node" = 'compute'`)).toBe("7\n"); // a column xcimg does not know survives

      // nothing of xCAT's was redefined; only missing tables were added, as xCAT's xcatadm
      expect(catalog("xcatdb", [...XCAT_TABLES, "nodepos"])).toBe(before);
      expect(psql(pg.base, "xcatdb", "SELECT * FROM networks")).toBe(networks);
      expect(psql(pg.base, "xcatdb", "SELECT * FROM nodepos")).toBe(nodepos);
      const owners = psql(pg.base, "xcatdb", "SELECT tablename || ' ' || tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").trim().split("\n");
      for (const t of [...Object.keys(TABLES), "xcimg_capture", "xcimg_roworder", "xcimg_schema", "nodepos"]) expect(owners).toContain(`${t} xcatadm`);
      expect(owners).toHaveLength(Object.keys(TABLES).length + 4);
      // a table xcimg created looks like xCAT's own: Table.pm's statement
      expect(psql(pg.base, "xcatdb", "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'passwd'::regclass")).toBe(
        "PRIMARY KEY (key, username)\n",
      );
    } finally {
      sb.cleanup();
    }
  }, 120_000);

  for (const [what, opts, message] of [
    ["a table with a missing column", { drop: "provmethod" }, "table nodetype has no column provmethod"],
    ["a table without its primary key", { noKey: true }, "table nodetype has no primary key on (node)"],
  ] as const) {
    test(`${what} is refused with a clear message, exit 65, and nothing is created`, async () => {
      const name = `xcatbad${what.includes("column") ? "col" : "key"}`;
      const ddl = XCAT_TABLES.map((t) => xcatDdl(t, t === "nodetype" ? opts : {})).join("\n");
      const url = xcatDatabase(name, ddl);
      const tablesBefore = psql(pg.base, name, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
      const sb = new Sandbox(name);
      sb.dbUrl = url;
      try {
        const r = await sb.bin(["node", "set", "cn01", "os=rhels9.4"]);
        expect(r.code).toBe(65);
        expect(r.stderr).toContain(
          `Error: database postgresql://xcatadm@127.0.0.1:${pg.port}/${name}: ${message}, so it is not the xCAT schema this xcimg knows`,
        );
        expect(r.stderr).toContain("hint:");
        expect(psql(pg.base, name, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).toBe(tablesBefore);
        expect(psql(pg.base, name, "SELECT count(*) FROM nodetype")).toBe("0\n");
      } finally {
        sb.cleanup();
      }
    });
  }
});
