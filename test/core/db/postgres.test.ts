/**
 * xcimg on PostgreSQL (issue #19), through the compiled binary against a real server on
 * 127.0.0.1: the url in the config and in XCIMG_DB_URL, the same tabdump bytes as SQLite
 * after updates and deletes, concurrent writers without lost updates, clear errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createDatabase, havePostgres, type PgServer, psql, startPostgres } from "../../helpers/postgres";
import { Sandbox } from "../../helpers/sandbox";

const enabled = havePostgres();
let pg: PgServer;

beforeAll(async () => {
  if (enabled) pg = await startPostgres();
});
afterAll(() => pg?.stop());

/** A sandbox on SQLite and one on PostgreSQL, whichever `engine` says. */
function site(engine: "sqlite" | "postgresql", name: string): Sandbox {
  if (engine === "sqlite") return new Sandbox(name);
  const url = createDatabase(pg.base, name);
  const sb = new Sandbox(name);
  sb.dbUrl = url;
  return sb;
}

const dbName = (url: string) => new URL(url).pathname.slice(1);

describe.skipIf(!enabled)("xcimg on PostgreSQL", () => {
  test("[db] url in the config file: every table is created as xCAT's Table.pm creates it, plus xcimg_* tables", async () => {
    const url = createDatabase(pg.base, "cfg");
    const sb = new Sandbox("pg-cfg", `url = "${url}"`);
    try {
      const r = await sb.bin(["node", "set", "cn1", "groups=compute,all", "os=rhels9.4"]);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      const tables = psql(pg.base, dbName(url), "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").trim().split("\n");
      expect(tables).toContain("nodelist");
      expect(tables).toContain("passwd");
      expect(tables.filter((t) => t.startsWith("xcimg_"))).toEqual(["xcimg_capture", "xcimg_roworder", "xcimg_schema"]);
      // Table.pm buildcreatestmt on Pg: key VARCHAR(128), TEXT otherwise, PRIMARY KEY on the keys
      const cols = psql(
        pg.base,
        dbName(url),
        "SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') FROM information_schema.columns WHERE table_name = 'litefile' ORDER BY ordinal_position",
      );
      expect(cols.trim().split("\n")).toEqual(["image character varying(128)", "file character varying(128)", "options text", "comments text", "disable text"]);
      expect(psql(pg.base, dbName(url), "SELECT count(*) FROM nodelist WHERE node = 'cn1'").trim()).toBe("1");
      // no SQLite file was made next to the config
      expect(await Bun.file(sb.dbPath).exists()).toBe(false);
    } finally {
      sb.cleanup();
    }
  });

  test("a malformed url is a configuration error naming file:line:col; XCIMG_DB_URL too", async () => {
    const sb = new Sandbox("pg-badurl", `url = "mysql://root@localhost/xcat"`);
    try {
      const r = await sb.bin(["node", "list"]);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/xcimg\.toml:6:\d+: db\.url must be postgresql:\/\/user@host:port\/database/);
      writeFileSync(sb.config, `[db]\npath = "${sb.dbPath}"\n`);
      const e = await sb.bin(["node", "list"], { env: { XCIMG_DB_URL: "postgresql://xcimg@127.0.0.1:5432/" } });
      expect(e.code).toBe(78);
      expect(e.stderr).toContain("Error: XCIMG_DB_URL names no database");
    } finally {
      sb.cleanup();
    }
  });

  test("an unreachable server: exit 69, the password is never printed", async () => {
    const sb = new Sandbox("pg-down");
    try {
      const r = await sb.bin(["node", "list"], { env: { XCIMG_DB_URL: "postgresql://xcatadm:s3cret@127.0.0.1:1/xcatdb" } });
      expect(r.code).toBe(69);
      expect(r.stderr).toContain("Error: cannot connect to PostgreSQL at postgresql://xcatadm:***@127.0.0.1:1/xcatdb");
      expect(r.stderr).toContain("hint:");
      expect(r.stderr).not.toContain("s3cret");
    } finally {
      sb.cleanup();
    }
  });

  test("a value xCAT's PostgreSQL schema cannot hold is bad data (65), not a crash, and nothing is written", async () => {
    const sb = site("postgresql", "longkey");
    try {
      const long = `n${"x".repeat(199)}`; // a legal node name (≤ 253), longer than xCAT's VARCHAR(128) keys
      const r = await sb.bin(["node", "set", `cn1,${long}`, "groups=all"]);
      expect(r.code).toBe(65);
      expect(r.stderr).toContain("refused a value: value too long for type character varying(128)");
      expect(r.stderr).toContain("hint: xCAT's PostgreSQL tables hold at most 128 characters");
      expect((await sb.bin(["table", "dump", "nodelist"])).stdout.split("\n")).toHaveLength(2); // header only: cn1 rolled back too
    } finally {
      sb.cleanup();
    }
  });

  test("privileges: no CREATE on the first run is 73 with a hint; a read-only user's write is 77", async () => {
    const url = createDatabase(pg.base, "priv");
    const db = dbName(url);
    psql(pg.base, "postgres", "CREATE ROLE reader LOGIN");
    const asReader = url.replace("xcimg@", "reader@");
    const sb = new Sandbox("pg-priv");
    try {
      sb.dbUrl = asReader; // PostgreSQL 15 gives PUBLIC no CREATE on schema public
      const first = await sb.bin(["node", "list"]);
      expect(first.code).toBe(73);
      expect(first.stderr).toContain("hint: the database user needs CREATE on its schema the first time xcimg runs");
      sb.dbUrl = url;
      expect((await sb.bin(["node", "set", "cn1", "groups=all"])).code).toBe(0);
      psql(pg.base, db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader");
      sb.dbUrl = asReader;
      expect((await sb.bin(["node", "list"])).stdout).toBe("cn1\n");
      const w = await sb.bin(["node", "set", "cn1", "os=rhels9.4"]);
      expect(w.code).toBe(77);
      expect(w.stderr).toContain("permission denied for table");
    } finally {
      sb.cleanup();
    }
  });

  test("the same commands give the same tabdump bytes on SQLite and PostgreSQL (updates keep their place, re-added rows go last)", async () => {
    const dumps: Record<string, string[]> = {};
    for (const engine of ["sqlite", "postgresql"] as const) {
      const sb = site(engine, `order${engine === "sqlite" ? "s" : "p"}`);
      try {
        const steps = [
          ["node", "set", "cn[1-5]", "groups=compute,all", "os=rhels9.4"],
          ["node", "set", "cn2", "os=sles15", "arch=x86_64"],
          ["node", "set", "compute", "netboot=xnba"],
          ["node", "rm", "cn3"],
          ["node", "set", "cn3", "groups=compute", "os=rhels8"],
          ["node", "set", "cn1", "groups,=rack1", "postscripts,=ntp,syslog"],
          ["table", "set", "site", "key=domain", "value=cluster.example"],
          ["table", "set", "litefile", "image=ALL,file=/etc/hosts", "options=tmpfs"],
          ["table", "set", "litefile", "image=ALL,file=/var/log/", "options=persistent"],
          ["table", "set", "litefile", "image=ALL,file=/etc/hosts", "options=ro"],
        ];
        for (const s of steps) {
          const r = await sb.bin(s);
          expect(`${s.join(" ")}: ${r.code} ${r.stderr.includes("Error")}`).toBe(`${s.join(" ")}: 0 false`);
        }
        dumps[engine] = [];
        for (const t of ["nodelist", "nodetype", "noderes", "postscripts", "site", "litefile"]) dumps[engine].push((await sb.bin(["table", "dump", t])).stdout);
        dumps[engine].push((await sb.bin(["node", "show", "cn[1-5]"])).stdout);
      } finally {
        sb.cleanup();
      }
    }
    expect(dumps.postgresql).toEqual(dumps.sqlite as string[]);
    expect(dumps.sqlite?.[0]).toBe(
      [
        "#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable",
        '"cn1","compute,all,rack1",,,,,,,,,,,',
        '"cn2","compute,all",,,,,,,,,,,',
        '"cn4","compute,all",,,,,,,,,,,',
        '"cn5","compute,all",,,,,,,,,,,',
        '"cn3","compute",,,,,,,,,,,',
        "",
      ].join("\n"),
    );
  }, 120_000);

  test("a writer waits for the advisory write lock another session holds, then goes on", async () => {
    const sb = site("postgresql", "lockwait");
    try {
      expect((await sb.bin(["node", "set", "cn1", "groups=all"])).code).toBe(0);
      const url = new URL(sb.dbUrl as string);
      // the key is WRITE_LOCK_KEY of src/core/db/pg-driver.ts
      const holder = Bun.spawn(
        [
          "psql",
          "-h",
          url.hostname,
          "-p",
          url.port,
          "-U",
          "xcimg",
          "-d",
          dbName(sb.dbUrl as string),
          "-Atc",
          "SELECT pg_advisory_lock(2019780973); SELECT pg_sleep(2)",
        ],
        { stdout: "ignore", stderr: "ignore" },
      );
      await Bun.sleep(500); // let it take the lock
      const t = performance.now();
      const r = await sb.bin(["node", "set", "cn1", "os=rhels9.4"]);
      const waited = performance.now() - t;
      await holder.exited;
      expect(r.code).toBe(0);
      expect(waited).toBeGreaterThan(1000);
      expect(JSON.parse((await sb.bin(["--json", "node", "show", "cn1"])).stdout).cn1.os).toBe("rhels9.4");
    } finally {
      sb.cleanup();
    }
  });

  for (const engine of ["sqlite", "postgresql"] as const) {
    test(`${engine}: concurrent writers on one node lose no update (different attributes, ,= and -p appends to one list)`, async () => {
      const sb = site(engine, `race${engine === "sqlite" ? "s" : "p"}`);
      try {
        expect((await sb.bin(["node", "set", "cn1", "groups=all"])).code).toBe(0);
        const N = 8;
        const writers: Promise<{ code: number; stderr: string }>[] = [];
        for (let i = 0; i < N; i++) {
          // two writers per round: one sets its own attribute, the other appends to groups
          writers.push(
            sb.bin([
              "node",
              "set",
              "cn1",
              `${["os", "arch", "profile", "netboot", "serialport", "serialspeed", "mac", "ip"][i]}=${["rhels9", "x86_64", "compute", "xnba", "0", "115200", "52:54:00:00:00:01", "10.0.0.1"][i]}`,
            ]),
          );
          // both spellings of chdef's append: `attr,=v` and `-p attr=v` (defs/list-edit.ts)
          writers.push(sb.bin(i % 2 ? ["node", "set", "-p", "cn1", `groups=g${i}`] : ["node", "set", "cn1", `groups,=g${i}`]));
        }
        for (const r of await Promise.all(writers)) {
          expect(r.stderr).not.toContain("Error");
          expect(r.code).toBe(0);
        }
        const attrs = JSON.parse((await sb.bin(["--json", "node", "show", "cn1"])).stdout).cn1;
        expect((attrs.groups as string).split(",").sort()).toEqual(["all", ...Array.from({ length: N }, (_, i) => `g${i}`)].sort());
        expect(attrs).toMatchObject({
          os: "rhels9",
          arch: "x86_64",
          profile: "compute",
          netboot: "xnba",
          serialport: "0",
          serialspeed: "115200",
          mac: "52:54:00:00:00:01",
          ip: "10.0.0.1",
        });
      } finally {
        sb.cleanup();
      }
    }, 120_000);
  }
});
