import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PENDING_SUFFIX, writePending } from "../../../src/core/provenance/pending";
import { digestTree } from "../../../src/core/provenance/tree-digest";
import { makeNetboot, type SiteImage } from "../../helpers/bundle-sites";
import { Sandbox } from "../../helpers/sandbox";

/**
 * A manifest a capture left due (src/core/provenance/pending.ts), without an sshd: the marker
 * is written as capture writes it, and the commands that need the manifest settle it.
 * test/core/capture/capture-manifest.test.ts does the same through real captures.
 */
let sb: Sandbox;
let img: SiteImage;
const manifest = () => join(img.dir, "xcimg-manifest.json");
const origin = { how: "capture" as const, node: "golden", at: "2026-12-02T00:00:00.000Z" };

beforeAll(async () => {
  sb = new Sandbox("pending");
  img = await makeNetboot(sb);
});
afterAll(() => sb.cleanup());

function markDue(barrier: string): void {
  writeFileSync(barrier, "");
  writePending(manifest(), { since: origin.at, origin, barrier, previous: null });
}

describe("a due manifest", () => {
  test("image show --manifest computes it from the disk, stores it and drops the marker", async () => {
    await Bun.sleep(20); // the tree's files are older than the barrier
    markDue(join(sb.dir, "barrier-1"));
    const r = await sb.run("--json", "image", "show", img.name, "--manifest");
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.stored).toBe(true);
    expect(v.manifest.origin).toEqual(origin);
    expect(v.manifest.made).toBe(origin.at);
    expect(v.manifest.tree.sha256).toBe(digestTree(join(img.dir, "rootimg")).sha256);
    expect(existsSync(manifest() + PENDING_SUFFIX)).toBe(false);
    expect(JSON.parse(readFileSync(manifest(), "utf8"))).toEqual(v.manifest);
  });

  test("without its barrier file nothing can tell what changed after the capture: verify refuses (65), stores nothing", async () => {
    markDue(join(sb.dir, "barrier-2"));
    Bun.spawnSync(["rm", join(sb.dir, "barrier-2")]);
    const v = await sb.run("image", "verify", img.name);
    expect(v.code).toBe(65);
    expect(v.stderr).toContain("changed on this management node after the capture");
    expect(existsSync(manifest() + PENDING_SUFFIX)).toBe(true);
  });

  test("pack settles it with the tree as it is (and keeps the capture's origin); verify then passes", async () => {
    const r = await sb.run("pack", img.name);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(existsSync(manifest() + PENDING_SUFFIX)).toBe(false);
    const m = JSON.parse(readFileSync(manifest(), "utf8"));
    expect(m.origin).toEqual(origin);
    expect(m.tree.sha256).toBe(digestTree(join(img.dir, "rootimg")).sha256);
    expect((await sb.run("image", "verify", img.name)).code).toBe(0);
  });

  test("image rm --files removes the marker with the manifest", async () => {
    markDue(join(sb.dir, "barrier-3"));
    const r = await sb.run("image", "rm", img.name, "--files");
    expect(r.code).toBe(0);
    expect(existsSync(manifest() + PENDING_SUFFIX)).toBe(false);
    expect(existsSync(manifest())).toBe(false);
  });
});
