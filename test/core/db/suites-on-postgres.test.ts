/**
 * The definitions, table and noderange suites once more, on PostgreSQL: a real server on
 * 127.0.0.1, a fresh database per Sandbox / per openTestDb (test/helpers/test-db.ts). The
 * assertions are the SQLite run's, unchanged — both engines must give the same answers, the
 * same tabdump bytes and the same exit codes. They run in a child `bun test`: in this process
 * those files' modules are already loaded (and their tests registered) for the SQLite run.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { havePostgres, type PgServer, psql, startPostgres } from "../../helpers/postgres";
import { ROOT } from "../../helpers/sandbox";

const SUITES = [
  "test/core/tables/tabdump.test.ts",
  "test/core/defs/inherit.test.ts",
  "test/core/noderange/noderange.test.ts",
  "test/cli/binary.test.ts",
  // xCAT fidelity through the binary: chdef -p/-m/-n, groups, stanza files, tabdump -w/-d/-f
  "test/cli/list-edit.test.ts",
  "test/cli/stanza.test.ts",
  "test/cli/tabdump.test.ts",
  // sn status's per-table digests: a PostgreSQL MN's tables against their SQLite snapshot
  "test/core/sn/table-digests.test.ts",
  // table-hostile and noderange-hostile plant their rows with bun:sqlite directly: SQLite only
];

const enabled = havePostgres();
let pg: PgServer;

beforeAll(async () => {
  if (enabled) pg = await startPostgres();
});
afterAll(() => pg?.stop());

test.skipIf(!enabled)(
  "the SQLite suites pass unchanged on PostgreSQL",
  async () => {
    const child = Bun.spawn([process.execPath, "test", "--timeout", "60000", ...SUITES.map((s) => join(ROOT, s))], {
      cwd: ROOT,
      env: { ...process.env, XCIMG_TEST_PG_BASE: pg.base },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const report = out + err; // bun test reports on stderr
    const failed = report.split("\n").filter((l) => l.startsWith("(fail)"));
    expect(failed).toEqual([]);
    expect(code).toBe(0);
    const passed = Number(/^\s*(\d+) pass$/m.exec(report)?.[1] ?? 0);
    expect(passed).toBeGreaterThan(250); // every suite ran, not just the first
    expect(report).toContain(" 0 fail");
    // and they did run on this server: each Sandbox and openTestDb made a database here
    expect(Number(psql(pg.base, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 't\\_%'"))).toBeGreaterThan(20);
  },
  600_000,
);
