import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Expected, verifyExtracted } from "../../../src/core/bundle/staged";
import { DataError } from "../../../src/core/errors";
import { tgz } from "../../helpers/tarball";

/**
 * The check after extraction (issue #12, "two parsers for one archive"): GNU tar really
 * extracts an archive, and the tree must match the vetted member list exactly. Each case
 * below is one way GNU tar's reading could differ from the vetter's; the vetter no longer
 * disagrees on any archive we know of (vet-fuzz.test.ts), so the differences are made on the
 * expected side.
 */
let work: string;
let dir: string;
const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "xcimg-staged-"));
  dir = join(work, "x");
  mkdirSync(dir);
  const file = join(work, "a.tgz");
  writeFileSync(
    file,
    tgz([
      { name: "./", type: "dir" },
      { name: "./img/", type: "dir" },
      { name: "./img/kernel", data: "kernel" },
      { name: "./img/extra/", type: "dir" },
      { name: "./img/extra/lnk", type: "symlink", link: "sub" },
      { name: "./img/imagetree/", type: "dir" },
      { name: "./img/imagetree/a", data: "aaa" },
      { name: "./img/imagetree/b", type: "hardlink", link: "./img/imagetree/a" },
    ]),
  );
  const p = Bun.spawnSync(["tar", "-x", "-z", "-f", file, "-C", dir]);
  expect(p.exitCode).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function vetted(): Map<string, Expected> {
  return new Map<string, Expected>([
    ["img", { type: "dir" }],
    ["img/kernel", { type: "file", size: 6, sha256: sha("kernel"), single: true }],
    ["img/extra", { type: "dir" }],
    ["img/extra/lnk", { type: "symlink", linkname: "sub" }],
    ["img/imagetree", { type: "dir" }],
    ["img/imagetree/a", { type: "file", size: 3 }],
    ["img/imagetree/b", { type: "hardlink", hardlinkTo: "img/imagetree/a" }],
  ]);
}

async function refusal(change: (m: Map<string, Expected>) => void): Promise<string> {
  const m = vetted();
  change(m);
  try {
    await verifyExtracted(dir, m, "b.tgz");
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).hint).toContain("nothing was imported");
    return (e as Error).message;
  }
  throw new Error("verifyExtracted accepted a tree that differs from the vetted one");
}

test("the tree GNU tar extracted matches what was vetted", async () => {
  await verifyExtracted(dir, vetted(), "b.tgz");
});

test("a member vetted as a symlink that GNU tar wrote as a file is refused", async () => {
  expect(await refusal((m) => m.set("img/kernel", { type: "symlink", linkname: "/" }))).toBe(
    "b.tgz: 'img/kernel' was checked as a symlink but extracted as a file",
  );
});

test("an extracted entry the vetter never saw is refused", async () => {
  expect(await refusal((m) => m.delete("img/kernel"))).toContain("'img/kernel' was extracted (as a file) but is not in the checked archive");
});

test("a vetted member GNU tar did not write is refused", async () => {
  expect(await refusal((m) => m.set("img/initrd", { type: "file", size: 1 }))).toContain("'img/initrd' was checked (a file) but not extracted");
});

test("other sizes, contents, link targets and hard links are refused", async () => {
  expect(await refusal((m) => m.set("img/kernel", { type: "file", size: 7 }))).toContain("checked with 7 bytes but extracted with 6");
  expect(await refusal((m) => m.set("img/kernel", { type: "file", size: 6, sha256: sha("kernex") }))).toContain("other content than was checked");
  expect(await refusal((m) => m.set("img/extra/lnk", { type: "symlink", linkname: "/" }))).toContain("was checked as a link to '/' but points to 'sub'");
  expect(await refusal((m) => m.set("img/imagetree/a", { type: "file", single: true }))).toContain("'img/imagetree/a' was extracted as a hard link");
  expect(await refusal((m) => m.set("img/imagetree/b", { type: "hardlink", hardlinkTo: "img/kernel" }))).toContain("is not the same file as 'img/kernel'");
});
