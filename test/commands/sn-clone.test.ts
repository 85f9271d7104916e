import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { goldenGpt } from "../helpers/clone-layouts";
import { Sandbox } from "../helpers/sandbox";

/**
 * `xcimg clone` on the MN of a node behind a service node (issue #18): like `boot`
 * (sn-boot.test.ts), the node gets its rows and SSH host key, and nothing in the MN's tftpdir;
 * the SN is named. cn01 is sn1's, cn05 the MN's own.
 */
let sb: Sandbox;
const IMG = "snsc";
const tftp = (p: string) => join(sb.tftpdir, p);

beforeAll(async () => {
  sb = new Sandbox("sn-clone");
  const tree = join(sb.installdir, "sysclone/images", IMG);
  // the tools clone.sh runs inside the image (image-tools.ts): present as files is enough here
  const tools = ["grub-install", "grub-mkconfig", "sfdisk", "blkid", "mkfs.ext4", "mkfs.vfat", "mkfs.xfs", "mkswap", "tar", "curl", "gzip"];
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  for (const t of tools) writeFileSync(join(tree, "usr/bin", t), "#!/bin/sh\n", { mode: 0o755 });
  mkdirSync(join(tree, "usr/lib/grub/x86_64-efi"), { recursive: true });
  mkdirSync(join(tree, "lib/systemd"), { recursive: true });
  writeFileSync(join(tree, "lib/systemd/systemd"), "");
  mkdirSync(join(tree, "boot"), { recursive: true });
  writeFileSync(join(tree, "boot/vmlinuz-6.1.0-9-amd64"), "kernel");
  mkdirSync(join(tree, "etc"), { recursive: true });
  writeFileSync(join(tree, "etc/os-release"), 'ID=debian\nNAME="Debian GNU/Linux"\n');
  expect((await sb.run("image", "set", IMG, "provmethod=sysclone", "osvers=debian12", "osarch=x86_64", `rootimgdir=${tree}`)).code).toBe(0);
  expect((await sb.run("node", "set", "cn01", "groups=all", "mac=52:54:00:00:00:01", "servicenode=sn1", "xcatmaster=sn1")).code).toBe(0);
  expect((await sb.run("node", "set", "cn05", "groups=all", "mac=52:54:00:00:00:05")).code).toBe(0);
  const db = new Database(sb.dbPath);
  const { layout, entries } = goldenGpt();
  db.query("INSERT INTO xcimg_capture (imagename, node, disk_layout, files) VALUES (?, 'golden', ?, ?)").run(IMG, JSON.stringify(layout), entries);
  db.close();
});
afterAll(() => sb?.cleanup());

describe("clone on the MN of a node behind a service node", () => {
  test("the SN's node gets rows and a host key, no file here; the MN's node is prepared as usual", async () => {
    const r = await sb.run("--json", "clone", "cn01,cn05", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { nodes: { node: string }[]; rowsOnly: string[]; snSync: Record<string, string[]> };
    expect(out.nodes.map((n) => n.node)).toEqual(["cn05"]);
    expect(out.rowsOnly).toEqual(["cn01"]);
    expect(out.snSync).toEqual({ sn1: ["cn01"] });
    expect(existsSync(tftp("xcat/xnba/nodes/cn05"))).toBe(true);
    expect(existsSync(tftp("xcat/xnba/nodes/cn01"))).toBe(false);
    expect(existsSync(tftp("xcat/overlay/cn01.cpio"))).toBe(false);
    expect((await sb.run("node", "show", "cn01")).stdout).toContain("currstate=sysclone debian12-x86_64\n");
    const keys = JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8"));
    expect(Object.keys(keys).sort()).toEqual(["cn01", "cn05"]);
    const text = await sb.run("clone", "cn01", "-o", IMG);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("cn01: boot files left to service node sn1");
    expect(text.stderr).toContain("sn1: run 'xcimg sn sync' on it for cn01");
  });
});
