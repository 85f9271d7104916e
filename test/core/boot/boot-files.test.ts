import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage } from "../../helpers/images";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg boot` re-runs trust boot-files.json (src/core/boot/boot-files.ts) only for files
 * nobody touched since: a file edited in place with the same size, one whose mode changed, one
 * replaced by a symlink, one removed, and a lost or garbled record all get the right content
 * back on the next boot; an untouched file keeps its inode (it was not rewritten).
 */
const IMG = "bf1-x86_64-netboot-compute";
let sb: Sandbox;
const tftp = (rel: string) => join(sb.tftpdir, rel);

beforeAll(async () => {
  sb = new Sandbox("boot-files");
  const img = await defineNetbootImage(sb, IMG, [], "bf1");
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  mkdirSync(join(img.rootimg, "sbin"), { recursive: true });
  const kernel = Buffer.alloc(1024); // with an EFI stub header: xnba nodes get .uefi files too
  kernel.write("MZ", 0, "latin1");
  Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]).copy(kernel, 0x80);
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-1"), kernel);
  writeFileSync(join(img.rootimg, "sbin/init"), "#!/bin/sh\n");
  for (const a of [
    ["pack", IMG],
    ["node", "set", "cn[1-3]", "groups=compute,all", "netboot=xnba", "arch=x86_64"],
    ["node", "set", "cn1", "mac=52:54:00:00:00:01"],
    ["node", "set", "cn2", "mac=52:54:00:00:00:02"],
    ["node", "set", "cn3", "mac=52:54:00:00:00:03"],
  ]) {
    const r = await sb.run(...a);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const r = await sb.run("boot", "compute", "-o", IMG);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => sb.cleanup());

async function bootAgain(): Promise<void> {
  const r = await sb.run("boot", "compute", "-o", IMG);
  expect(r.code, r.stderr).toBe(0);
}

describe("boot-files.json never hides a change to a node's file", () => {
  test("untouched files are not rewritten (same inode); the record lives in the private state directory", async () => {
    const before = lstatSync(tftp("xcat/xnba/nodes/cn1")).ino;
    await bootAgain();
    expect(lstatSync(tftp("xcat/xnba/nodes/cn1")).ino).toBe(before);
    expect(lstatSync(join(sb.dir, "db", "boot-files.json")).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(join(sb.dir, "db", "boot-files.json"), "utf8")))).toContain(tftp("xcat/overlay/cn1.cpio"));
  });

  test("an overlay edited in place (same size), a loader file chmod'ed, a symlink planted, a file removed: all repaired", async () => {
    const ov = tftp("xcat/overlay/cn1.cpio");
    const good = readFileSync(ov);
    const bad = Buffer.from(good);
    bad[bad.length - 20] = (bad[bad.length - 20] as number) ^ 0xff;
    writeFileSync(ov, bad);
    const x2 = tftp("xcat/xnba/nodes/cn2");
    const x2text = readFileSync(x2, "utf8");
    chmodSync(x2, 0o666);
    const x3 = tftp("xcat/xnba/nodes/cn3");
    const x3text = readFileSync(x3, "utf8");
    const victim = join(sb.dir, "victim");
    writeFileSync(victim, "outside the site: never written through\n");
    rmSync(x3);
    symlinkSync(victim, x3);
    const u1 = tftp("xcat/xnba/nodes/cn1.uefi");
    const u1text = readFileSync(u1, "utf8");
    rmSync(u1);
    await bootAgain();
    expect(readFileSync(ov).equals(good)).toBe(true);
    expect(lstatSync(x2).mode & 0o777).toBe(0o644);
    expect(readFileSync(x2, "utf8")).toBe(x2text);
    expect(lstatSync(x3).isSymbolicLink()).toBe(false);
    expect(readFileSync(x3, "utf8")).toBe(x3text);
    expect(readFileSync(victim, "utf8")).toBe("outside the site: never written through\n");
    expect(readFileSync(u1, "utf8")).toBe(u1text);
  });

  test("a garbled record is ignored: files are read and compared, the record rebuilt", async () => {
    const rec = join(sb.dir, "db", "boot-files.json");
    writeFileSync(rec, "{not json");
    const ov = tftp("xcat/overlay/cn2.cpio");
    const good = readFileSync(ov);
    writeFileSync(ov, Buffer.alloc(good.length));
    await bootAgain();
    expect(readFileSync(ov).equals(good)).toBe(true);
    expect(() => JSON.parse(readFileSync(rec, "utf8"))).not.toThrow();
  });
});
