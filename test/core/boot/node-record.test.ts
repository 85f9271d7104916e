import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";

/**
 * The compiled binary's `xcimg boot` skips rendering a node whose inputs and files are unchanged
 * since its last boot (src/core/boot/node-record.ts). Each test changes one input — a node's
 * attribute, a site row, a postscript appearing in installdir, a node's host key, a file edited
 * or removed behind xcimg's back, a garbled record — and checks that exactly the nodes it
 * concerns are rendered again and get the right content, and that the others are left alone.
 * `-v` prints how many nodes were left unchanged; the files' own inodes and contents are
 * checked too, so the count is not the only evidence.
 */
const IMG = "nr1-x86_64-netboot-compute";
const NODES = ["cn1", "cn2", "cn3", "cn4"];
let sb: Sandbox;
const tftp = (rel: string) => join(sb.tftpdir, rel);
const xnba = (n: string) => tftp(`xcat/xnba/nodes/${n}`);
const overlay = (n: string) => tftp(`xcat/overlay/${n}.cpio`);

async function ok(...argv: string[]): Promise<void> {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
}

/** `xcimg -v boot` through the compiled binary: how many nodes it left unchanged, and its stderr. */
async function boot(): Promise<{ unchanged: number; stderr: string }> {
  const r = await sb.bin(["-v", "boot", "compute", "-o", IMG]);
  expect(r.code, r.stderr).toBe(0);
  const m = /write \d+ files for (\d+) nodes, (\d+) unchanged since their last boot/.exec(r.stderr);
  if (!m) throw new Error(`no boot phase line in: ${r.stderr}`);
  expect(Number(m[1])).toBe(NODES.length);
  return { unchanged: Number(m[2]), stderr: r.stderr };
}

function file(n: string, name: string): string {
  const e = readNewc(readFileSync(overlay(n))).find((x) => x.name.toString() === name);
  if (!e) throw new Error(`${name} not in ${n}'s overlay`);
  return e.data.toString();
}

const inodes = () => Object.fromEntries(NODES.map((n) => [n, [lstatSync(xnba(n)).ino, lstatSync(overlay(n)).ino]]));

beforeAll(async () => {
  sb = new Sandbox("node-record");
  const img = await defineNetbootImage(sb, IMG, [], "nr1");
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  mkdirSync(join(img.rootimg, "sbin"), { recursive: true });
  const kernel = Buffer.alloc(1024);
  kernel.write("MZ", 0, "latin1");
  Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]).copy(kernel, 0x80);
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-1"), kernel);
  writeFileSync(join(img.rootimg, "sbin/init"), "#!/bin/sh\n");
  await ok("pack", IMG);
  await ok("node", "set", "cn[1-4]", "groups=compute,all", "netboot=xnba", "arch=x86_64");
  for (const [i, n] of NODES.entries()) await ok("node", "set", n, `mac=52:54:00:00:01:0${i + 1}`, `ip=10.9.0.${i + 1}`);
});
afterAll(() => sb.cleanup());

describe("an unchanged node is not rendered again; any change to what its files are made of is", () => {
  test("the first boot renders all; the next one (which reads back what the first wrote into the tables) skips all", async () => {
    expect((await boot()).unchanged).toBe(0);
    const before = inodes();
    expect((await boot()).unchanged).toBe(4);
    expect(inodes()).toEqual(before);
    expect(lstatSync(join(sb.dir, "db", "boot-nodes.json")).mode & 0o777).toBe(0o600);
  });

  test("a node's attribute: only that node is rendered, with the new value", async () => {
    await ok("node", "set", "cn2", "addkcmdline=xcimg.test=1");
    const before = inodes();
    expect((await boot()).unchanged).toBe(3);
    expect(readFileSync(xnba("cn2"), "utf8")).toContain("xcimg.test=1");
    expect(readFileSync(xnba("cn1"), "utf8")).not.toContain("xcimg.test=1");
    for (const n of ["cn1", "cn3", "cn4"]) expect(inodes()[n]).toEqual(before[n] as number[]);
    expect((await boot()).unchanged).toBe(4);
  });

  test("a site row every node's mypostscript carries: all are rendered", async () => {
    await ok("table", "set", "site", "key=domain", "value=nr.example");
    expect((await boot()).unchanged).toBe(0);
    for (const n of NODES) expect(file(n, "xcatpost/mypostscript")).toContain("DOMAIN='nr.example'");
  });

  test("a postscript a node lists appears in installdir: that node's warning goes and the script is listed", async () => {
    await ok("node", "set", "cn3", "postscripts=nrscript");
    let r = await boot();
    expect(r.unchanged).toBe(3);
    expect(r.stderr).toContain("cn3: postscripts not in");
    // skipped, the node's warning is still given
    r = await boot();
    expect(r.unchanged).toBe(4);
    expect(r.stderr).toContain("cn3: postscripts not in");
    expect(file("cn3", "xcatpost/xcimg-postscripts.list")).not.toContain("nrscript");
    mkdirSync(join(sb.installdir, "postscripts"), { recursive: true });
    writeFileSync(join(sb.installdir, "postscripts", "nrscript"), "#!/bin/sh\ntrue\n", { mode: 0o755 });
    r = await boot();
    expect(r.stderr).not.toContain("cn3: postscripts not in");
    expect(file("cn3", "xcatpost/xcimg-postscripts.list")).toContain("nrscript");
  });

  test("a node's host key taken out of the store: the node gets a new one in its overlay", async () => {
    const store = join(sb.dir, "db", "ssh-host-keys.json");
    const keys = JSON.parse(readFileSync(store, "utf8")) as Record<string, { public: string }>;
    const old = keys.cn4?.public;
    expect(old).toBeTruthy();
    delete keys.cn4;
    writeFileSync(store, JSON.stringify(keys), { mode: 0o600 });
    expect((await boot()).unchanged).toBe(3);
    const now = JSON.parse(readFileSync(store, "utf8")) as Record<string, { public: string }>;
    expect(now.cn4?.public).not.toBe(old);
    expect(file("cn4", "etc/ssh/ssh_host_ed25519_key.pub").trim()).toBe(now.cn4?.public as string);
  });

  test("files edited, chmod'ed or removed behind xcimg's back: those nodes are rendered and repaired", async () => {
    expect((await boot()).unchanged).toBe(4);
    const good1 = readFileSync(overlay("cn1"));
    const bad = Buffer.from(good1);
    bad[bad.length - 20] = (bad[bad.length - 20] as number) ^ 0xff;
    writeFileSync(overlay("cn1"), bad);
    const text2 = readFileSync(xnba("cn2"), "utf8");
    chmodSync(xnba("cn2"), 0o666);
    const text3 = readFileSync(`${xnba("cn3")}.uefi`, "utf8");
    rmSync(`${xnba("cn3")}.uefi`);
    expect((await boot()).unchanged).toBe(1);
    expect(readFileSync(overlay("cn1")).equals(good1)).toBe(true);
    expect(lstatSync(xnba("cn2")).mode & 0o777).toBe(0o644);
    expect(readFileSync(xnba("cn2"), "utf8")).toBe(text2);
    expect(readFileSync(`${xnba("cn3")}.uefi`, "utf8")).toBe(text3);
    expect((await boot()).unchanged).toBe(4);
  });

  test("a garbled record: every node is rendered and the record rebuilt", async () => {
    writeFileSync(join(sb.dir, "db", "boot-nodes.json"), "{not json");
    expect((await boot()).unchanged).toBe(0);
    expect((await boot()).unchanged).toBe(4);
  });

  test("run from source (no build id), boot renders every node: a changed code base never trusts the record", async () => {
    const r = await sb.run("-v", "boot", "compute", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/for 4 nodes, 0 unchanged/);
  });
});

describe("grub2 and pxelinux nodes (hard links, symlinks) are skipped and re-rendered the same way", () => {
  async function bootOthers(): Promise<number> {
    const r = await sb.bin(["-v", "boot", "others", "-o", IMG]);
    expect(r.code, r.stderr).toBe(0);
    const m = /write \d+ files for 2 nodes, (\d+) unchanged since their last boot/.exec(r.stderr);
    if (!m) throw new Error(`no boot phase line in: ${r.stderr}`);
    return Number(m[1]);
  }

  test("an unchanged re-run keeps their links; a new MAC is rendered", async () => {
    await ok("node", "set", "gn1", "groups=others,all", "netboot=grub2", "arch=x86_64", "mac=52:54:00:00:02:01", "ip=10.9.0.21");
    await ok("node", "set", "pn1", "groups=others,all", "netboot=pxe", "arch=x86_64", "mac=52:54:00:00:02:02", "ip=10.9.0.22");
    expect(await bootOthers()).toBe(0);
    const grubLink = tftp("boot/grub2/grub.cfg-01-52-54-00-00-02-01");
    const pxeLink = tftp("pxelinux.cfg/01-52-54-00-00-02-02");
    const before = [lstatSync(grubLink).ino, lstatSync(pxeLink).ino];
    expect(await bootOthers()).toBe(2);
    expect([lstatSync(grubLink).ino, lstatSync(pxeLink).ino]).toEqual(before);
    const ipLink = tftp("pxelinux.cfg/0A090016"); // 10.9.0.22
    const ipIno = lstatSync(ipLink).ino;
    await ok("node", "set", "pn1", "mac=52:54:00:00:02:03");
    expect(await bootOthers()).toBe(1);
    expect(lstatSync(tftp("pxelinux.cfg/01-52-54-00-00-02-03")).isSymbolicLink()).toBe(true);
    // rendered again, its IP name already pointed at it: left alone, not re-made
    expect(lstatSync(ipLink).ino).toBe(ipIno);
    expect(await bootOthers()).toBe(2);
  });
});
