/**
 * The definitions, table and noderange suites once more, on PostgreSQL: a real server on
 * 127.0.0.1, a fresh database per Sandbox / per openTestDb (test/helpers/test-db.ts). The
 * assertions are the SQLite run's, unchanged — both engines must give the same answers, the
 * same tabdump bytes and the same exit codes.
 */
import { afterAll } from "bun:test";
import { havePostgres, startPostgres } from "../../helpers/postgres";

if (havePostgres()) {
  const pg = await startPostgres();
  process.env.XCIMG_TEST_PG_BASE = pg.base;
  afterAll(() => {
    delete process.env.XCIMG_TEST_PG_BASE; // later files in this bun process run on SQLite again
    pg.stop();
  });
  await import("../tabdump.test.ts");
  await import("../inherit.test.ts");
  await import("../noderange.test.ts");
  await import("../../cli/binary.test.ts");
  // table-hostile and noderange-hostile plant their rows with bun:sqlite directly: SQLite only
}
