import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CaptureEnv, captureEnv } from "../../helpers/capture-env";
import { walk } from "../../helpers/fidelity-tree";

/**
 * Issue #17, "Images: nothing destroyed without being asked": a capture into a statelite image
 * (what `xcimg lite` made: .statelite, .default, /etc/init.d/statelite) or into a tree nodes
 * mount over NFS refuses without --force and leaves the tree as it was; with --force the
 * previous tree is kept as rootimg.prev, one rollback point, the older one replaced.
 */
let env: CaptureEnv;
let golden: string;
const IMAGE = "sl";
const tree = () => join(env.sb.installdir, "netboot/debian12/x86_64/compute/rootimg");
const prev = () => `${tree()}.prev`;

/** Every entry under root with its metadata and content digest, in order (the top first). */
const entries = (root: string) => [...walk(root)].map(([k, e]) => JSON.stringify([k, e], (_, v) => (typeof v === "bigint" ? String(v) : v)));
const snapshot = (root: string) => entries(root).join("\n");

function capture(...args: string[]) {
  return env.sb.run("--json", "capture", "golden", "--rootdir", golden, "-t", "diskless", "-o", IMAGE, ...args);
}

beforeAll(async () => {
  env = await captureEnv("replace-guard");
  golden = join(env.sb.dir, "golden");
  mkdirSync(join(golden, "etc"), { recursive: true });
  writeFileSync(join(golden, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
  writeFileSync(join(golden, "etc/marker"), "first\n");
  const first = await capture();
  if (first.code !== 0) throw new Error(first.stderr);
  // the image becomes statelite and lite builds its structure in the tree, as an admin would
  for (const argv of [
    ["image", "set", IMAGE, "provmethod=statelite"],
    ["table", "set", "litefile", "image=ALL,file=/etc/motd", "options=tmpfs"],
    ["lite", IMAGE],
  ]) {
    const r = await env.sb.run(...argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  }
});
afterAll(async () => await env.stop());

describe("capture into a statelite image", () => {
  test("refuses without --force, naming the image and what would be lost; the tree is untouched", async () => {
    for (const p of [".statelite", ".default", "etc/init.d/statelite"]) expect(existsSync(join(tree(), p))).toBe(true);
    const before = snapshot(tree());
    writeFileSync(join(golden, "etc/marker"), "second\n");
    const r = await capture();
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`refusing to capture into image '${IMAGE}'`);
    for (const what of [".statelite", ".default", "the init script /etc/init.d/statelite", "over NFS"]) expect(r.stderr).toContain(what);
    expect(r.stderr).toContain("--force");
    expect(snapshot(tree())).toBe(before);
    expect(readFileSync(join(tree(), "etc/marker"), "utf8")).toBe("first\n");
    expect(existsSync(prev())).toBe(false);
  });

  test("--force replaces the tree and keeps the previous one, closed, as rootimg.prev", async () => {
    const before = snapshot(tree());
    const r = await capture("--force");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rollback).toBe(prev());
    expect(readFileSync(join(tree(), "etc/marker"), "utf8")).toBe("second\n");
    expect(existsSync(join(tree(), ".statelite"))).toBe(false);
    // the rollback point is the previous tree as it was, lite's files included
    expect(entries(prev()).slice(1)).toEqual(before.split("\n").slice(1)); // below the top, identical
    expect(statSync(prev()).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(env.sb.installdir, "netboot/debian12/x86_64/compute/.rootimg.prev.node-mode"), "utf8")).toMatch(/^mode=0755 /);
  });

  test("an NFS-root tree stays guarded, and a second --force keeps one rollback point: the newer", async () => {
    writeFileSync(join(golden, "etc/marker"), "third\n");
    const refused = await capture();
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain("over NFS");
    expect(refused.stderr).not.toContain(".statelite");
    expect(readFileSync(join(tree(), "etc/marker"), "utf8")).toBe("second\n");

    const r = await capture("--force");
    expect(r.code).toBe(0);
    expect(readFileSync(join(tree(), "etc/marker"), "utf8")).toBe("third\n");
    expect(readFileSync(join(prev(), "etc/marker"), "utf8")).toBe("second\n");
    expect(existsSync(join(prev(), ".statelite"))).toBe(false); // the older rollback point is gone
    const dir = join(env.sb.installdir, "netboot/debian12/x86_64/compute");
    expect(
      Bun.spawnSync(["ls", "-a", dir])
        .stdout.toString()
        .split("\n")
        .filter((n) => n.includes("prev")),
    ).toEqual(["rootimg.prev", ".rootimg.prev.node-mode"].sort());
  });

  test("a ramdisk statelite image without lite's files is not guarded: no refusal, no rollback point", async () => {
    const set = await env.sb.run("image", "set", IMAGE, "rootfstype=ramdisk");
    expect(set.code).toBe(0);
    writeFileSync(join(golden, "etc/marker"), "fourth\n");
    const r = await capture();
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rollback).toBeNull();
    expect(readFileSync(join(prev(), "etc/marker"), "utf8")).toBe("second\n"); // untouched
  });
});

describe("the rollback point goes with the image", () => {
  test("image rm --files removes rootimg.prev and its record", async () => {
    const dir = join(env.sb.installdir, "netboot/debian12/x86_64/compute");
    expect(existsSync(prev())).toBe(true);
    const r = await env.sb.run("image", "rm", IMAGE, "--files");
    expect(r.code).toBe(0);
    expect(existsSync(dir) ? Bun.spawnSync(["ls", "-A", dir]).stdout.toString() : "").toBe("");
  });
});
