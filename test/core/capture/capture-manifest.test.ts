import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { digestTree } from "../../../src/core/provenance/tree-digest";
import { makeRootTree } from "../../helpers/bundle-sites";
import { type CaptureEnv, captureEnv } from "../../helpers/capture-env";
import { makeKeys } from "../../helpers/signing-keys";

/**
 * capture over a real sshd and the image manifest: capture leaves the manifest due
 * (core/provenance/pending.ts) and the first command that needs it computes it from the
 * disk — exact after every re-capture, and still refusing a tree edited behind xcimg's back.
 */
const IMAGE = "debian12-x86_64-netboot-compute";
let env: CaptureEnv;
let golden: string;
let tree: string;
const manifestFile = () => join(tree, "..", "xcimg-manifest.json");

beforeAll(async () => {
  env = await captureEnv("capture-manifest");
  golden = join(env.sb.dir, "golden");
  makeRootTree(golden, { xattrs: false });
  writeFileSync(join(golden, "etc/os-release"), 'ID=debian\nVERSION_ID="12"\n');
});
afterAll(async () => await env.stop());

async function capture(): Promise<{ level: string; tree: string }> {
  const r = await env.sb.run("--json", "capture", "golden", "--rootdir", golden, "-t", "diskless", "-o", IMAGE, "--keep-identity");
  expect(r.stderr).not.toContain("Error");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function shown(): Promise<{ stored: boolean; note?: string; manifest: { tree: { sha256: string; entries: number }; made: string } }> {
  const r = await env.sb.run("--json", "image", "show", IMAGE, "--manifest");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe("capture and the image manifest", () => {
  test("capture leaves the manifest due; show computes it, names the golden node and digests the tree on disk", async () => {
    tree = (await capture()).tree;
    expect(existsSync(`${manifestFile()}.pending`)).toBe(true);
    expect(existsSync(manifestFile())).toBe(false); // never a manifest that does not describe the tree
    const v = await shown();
    expect(v.stored).toBe(true);
    expect(existsSync(`${manifestFile()}.pending`)).toBe(false);
    const m = JSON.parse(readFileSync(manifestFile(), "utf8"));
    expect(m).toEqual(v.manifest);
    expect(m.origin).toMatchObject({ how: "capture", node: "golden", address: "127.0.0.1", type: "diskless", level: "full", rootdir: golden });
    expect(m.identity.name).toBe(IMAGE);
    expect(m.tree.path).toBe("rootimg");
    expect(m.tree.entries).toBeGreaterThan(10);
    expect(m.tree.sha256).toBe(digestTree(tree).sha256);
    const show = await env.sb.run("image", "show", IMAGE, "--manifest");
    expect(show.stdout).toContain(`origin:     captured from golden (127.0.0.1) ${golden}, diskless full`);
    expect(show.stdout).toContain(`sha256:${m.tree.sha256}`);
    const verify = await env.sb.run("image", "verify", IMAGE);
    expect(verify.stderr).not.toContain("Error");
    expect(verify.code).toBe(0);
  });

  test("a re-capture that changes one file changes the tree digest; verify computes and checks it", async () => {
    const before = (await shown()).manifest.tree;
    appendFileSync(join(golden, "usr/bin/tool"), "x");
    expect((await capture()).level).toBe("incremental");
    const v = await env.sb.run("image", "verify", IMAGE);
    expect(v.stderr).not.toContain("Error");
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("root tree rootimg");
    const after = JSON.parse(readFileSync(manifestFile(), "utf8")).tree;
    expect(after.sha256).not.toBe(before.sha256);
    expect(after.entries).toBe(before.entries);
    expect(after.sha256).toBe(digestTree(tree).sha256);
  });

  test("a re-capture that changes nothing keeps the tree digest (the origin records the new capture)", async () => {
    const before = JSON.parse(readFileSync(manifestFile(), "utf8"));
    expect((await capture()).level).toBe("incremental");
    expect(existsSync(manifestFile())).toBe(false);
    expect((await env.sb.run("image", "verify", IMAGE)).code).toBe(0);
    const after = JSON.parse(readFileSync(manifestFile(), "utf8"));
    expect(after.tree).toEqual(before.tree);
    expect(after.origin.at > before.origin.at).toBe(true);
  });

  test("a tree edited behind xcimg's back after the capture, before its digest was computed, is refused (65) and named", async () => {
    appendFileSync(join(golden, "usr/bin/tool"), "y");
    await capture();
    await Bun.sleep(20); // the edit must land after the capture's last write, in a later clock tick
    writeFileSync(join(tree, "etc/motd"), "edited on the management node\n");
    const v = await env.sb.run("image", "verify", IMAGE);
    expect(v.code).toBe(65);
    expect(v.stderr).toContain("changed on this management node after the capture");
    expect(v.stderr).toContain('"etc/motd"'); // and "etc", whose ctime the new file moved
    const s = await shown();
    expect(s.stored).toBe(false);
    expect(s.note).toContain('"etc/motd"');
    expect(s.manifest.tree.sha256).toBe(digestTree(tree).sha256); // show still shows the digest of what is there
    expect(existsSync(manifestFile())).toBe(false);
  });

  test("image sign records a tree edited after its capture; the next capture removes that signature and says so", async () => {
    const keys = makeKeys(join(env.sb.dir, "keys"));
    const signed = await env.sb.run("image", "sign", IMAGE, "--key", keys.alice);
    expect(signed.stderr).not.toContain("Error");
    expect(signed.code).toBe(0);
    expect(existsSync(`${manifestFile()}.sig`)).toBe(true);
    expect(JSON.parse(readFileSync(manifestFile(), "utf8")).tree.sha256).toBe(digestTree(tree).sha256);
    expect((await env.sb.run("image", "verify", IMAGE)).code).toBe(0);
    const r = await env.sb.run("capture", "golden", "--rootdir", golden, "-t", "diskless", "-o", IMAGE, "--keep-identity");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("its signature was removed");
    expect(existsSync(`${manifestFile()}.sig`)).toBe(false);
  });

  test("a tree edited behind xcimg's back after its digest was recorded is refused (65), as before", async () => {
    await capture();
    expect((await env.sb.run("image", "verify", IMAGE)).code).toBe(0);
    writeFileSync(join(tree, "etc/motd"), "edited again\n");
    const v = await env.sb.run("image", "verify", IMAGE);
    expect(v.code).toBe(65);
    expect(v.stderr).toContain("changed: root tree rootimg");
  });
});
