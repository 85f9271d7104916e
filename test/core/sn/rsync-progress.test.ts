import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RsyncProgress, rsyncPull } from "../../../src/core/sn/rsync";

/**
 * rsync's --info=progress2 with the real rsync, local to local (the transport is not what this
 * is about): the progress reader sees the whole transfer up to 100%, and the itemized changes
 * and --stats that sn sync reports are still read right with the progress line between them.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-rsync-progress-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("rsyncPull progress", () => {
  test("progress reaches 100% of the data; stats and changes are intact", async () => {
    const src = join(dir, "src");
    mkdirSync(join(src, "etc"), { recursive: true });
    writeFileSync(join(src, "big"), randomBytes(24 << 20));
    for (let i = 0; i < 20; i++) writeFileSync(join(src, "etc", `f${i}`), `file ${i}\n`);
    const seen: RsyncProgress[] = [];
    const stats = await rsyncPull({ ssh: ["ssh"], source: `${src}/`, dest: join(dir, "dest/"), onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(0);
    const last = seen.at(-1) as RsyncProgress;
    expect(last.percent).toBe(100);
    expect(last.bytes).toBeGreaterThanOrEqual(24 << 20);
    expect(last.rate).toMatch(/^[\d.]+[kMG]?B\/s$/);
    for (let i = 1; i < seen.length; i++) expect((seen[i] as RsyncProgress).bytes).toBeGreaterThanOrEqual((seen[i - 1] as RsyncProgress).bytes);
    expect(stats.filesTransferred).toBe(21);
    expect(stats.changes.filter((l) => l.startsWith(">f")).length).toBe(21);
    expect(stats.changes.every((l) => /^[<>ch.*][fdLDS+.]\S* /.test(l))).toBe(true);
    expect(readFileSync(join(dir, "dest", "etc", "f7"), "utf8")).toBe("file 7\n");
  });
});
