/**
 * What capture records (xcimg_capture, ON CONFLICT upsert with JSON and numeric columns) reads
 * back the same from SQLite and from a real PostgreSQL server, a second capture replacing the
 * first; and `image rm` removes it on both.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CaptureRecord, readCaptureRecord, recordCapture } from "../../../src/core/capture/record";
import { openDb } from "../../../src/core/db/open";
import { removeImageRows } from "../../../src/core/defs/image";
import { createDatabase, havePostgres, type PgServer, startPostgres } from "../../helpers/postgres";

const enabled = havePostgres();
let pg: PgServer;
const dir = mkdtempSync(join(tmpdir(), "xcimg-caprec-"));

beforeAll(async () => {
  if (enabled) pg = await startPostgres();
});
afterAll(() => {
  pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const plan = {
  name: "rhels9.4-x86_64-netboot-compute",
  created: true,
  provmethod: "netboot",
  osvers: "rhels9.4",
  osarch: "x86_64",
  profile: "compute",
  rootimgdir: "/install/netboot/rhels9.4/x86_64/compute",
  tree: "/install/netboot/rhels9.4/x86_64/compute/rootimg",
};

function rec(files: number): CaptureRecord {
  return {
    node: "golden",
    address: "10.0.0.5",
    type: "diskless",
    rootdir: null,
    started: "2026-01-01T00:00:00Z",
    finished: "2026-01-01T00:01:00Z",
    seconds: 60.1234,
    level: "full",
    osRelease: { ID: "rhel", VERSION_ID: "9.4" },
    kernels: ["5.14.0-427.el9.x86_64"],
    diskLayout: null,
    mounts: [{ target: "/", fstype: "xfs" }],
    excludes: ["/proc/*"],
    identity: { hostname: "golden" },
    tarVersion: "1.34",
    files,
    dirs: 3,
    symlinks: 2,
    hardlinks: 1,
    specials: 0,
    bytes: 5_368_709_120,
    streamBytes: 5_400_000_000,
    warnings: [],
  };
}

describe.skipIf(!enabled)("capture records on both engines", () => {
  test("written, replaced, read back and removed identically", () => {
    const seen: unknown[] = [];
    for (const target of [join(dir, "rec.db"), createDatabase(pg.base, "caprec")]) {
      const db = openDb(target);
      try {
        recordCapture(db, plan, rec(100));
        recordCapture(db, { ...plan, created: false }, rec(41_234));
        const back = readCaptureRecord(db, plan.name);
        expect(back).toMatchObject({
          node: "golden",
          seconds: 60.123,
          files: 41_234,
          bytes: 5_368_709_120,
          kernels: ["5.14.0-427.el9.x86_64"],
          disk_layout: null,
        });
        seen.push(back);
        removeImageRows(db, plan.name);
        expect(readCaptureRecord(db, plan.name)).toBeNull();
      } finally {
        db.close();
      }
    }
    expect(seen[1]).toEqual(seen[0]);
  });
});
