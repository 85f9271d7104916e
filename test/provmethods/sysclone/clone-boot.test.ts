import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { servedPerms } from "../../../src/core/boot/served-perms";
import { goldenGpt } from "../../helpers/clone-layouts";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg clone` writes its nodes' boot files through core/boot's one per-node loop (core/boot/
 * boot.ts bootNodes, #13): a node with a bad value is reported with its reason and gets nothing
 * — no overlay, no loader file, no row — while the others are prepared; the overlay, which
 * carries the node's SSH host key, gets the served mode `xcimg boot` gives its overlays.
 */
let sb: Sandbox;
const IMG = "sc";
const tftp = (p: string) => join(sb.tftpdir, p);

beforeAll(async () => {
  sb = new Sandbox("clone-boot");
  const tree = join(sb.installdir, "sysclone/images", IMG);
  // the tools clone.sh runs inside the image (image-tools.ts): present as files is enough here
  const tools = ["grub-install", "grub-mkconfig", "sfdisk", "blkid", "mkfs.ext4", "mkfs.vfat", "mkfs.xfs", "mkswap", "tar", "curl", "gzip"];
  tools.push("pvcreate", "vgcreate", "lvcreate", "vgchange");
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
  const ok = [
    ["cn01", "mac=52:54:00:00:00:01", "ip=10.0.0.11", "postscripts=syslog,mysite"],
    ["cn02"], // no MAC
    ["cn03", "mac=52:54:00:00:00:03", "serialport=0"], // no serialspeed: its command line fails
  ];
  for (const [node, ...attrs] of ok) expect((await sb.run("node", "set", node as string, "groups=all", ...attrs)).code).toBe(0);
  const db = new Database(sb.dbPath);
  const { layout, entries } = goldenGpt();
  db.query("INSERT INTO xcimg_capture (imagename, node, disk_layout, files) VALUES (?, 'golden', ?, ?)").run(IMG, JSON.stringify(layout), entries);
  // a value no `node set` accepts, as a restored or hand-edited table may hold it
  db.query("INSERT INTO nodelist (node, groups) VALUES ('cn04', 'all')").run();
  db.query("INSERT INTO mac (node, mac) VALUES ('cn04', '52:54:00:00:00:04')").run();
  db.query("INSERT INTO hosts (node, ip) VALUES ('cn04', '10.0.0.14/../../x')").run();
  db.close();
});
afterAll(() => sb?.cleanup());

describe("xcimg clone through the shared boot loop", () => {
  test("bad nodes are reported one by one and get nothing; the good one is prepared (exit 1)", async () => {
    const r = await sb.run("clone", "cn01,cn02,cn03,cn04", "-o", IMG);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^cn01: sysclone debian12-x86_64 \(job \S+\): clones itself at its next network boot$/m);
    expect(r.stdout).not.toMatch(/^cn0[234]:/m);
    expect(r.stderr).toContain("cn02: No MAC address available for this node");
    expect(r.stderr).toContain("cn03: serialport defined, but no serialspeed for cn03 in nodehm table");
    expect(r.stderr).toContain("cn04: ip '10.0.0.14/../../x' is not an IPv4 address");
    expect(readFileSync(tftp("xcat/xnba/nodes/cn01"), "utf8")).toContain("xcimg.clone=");
    const overlay = statSync(tftp("xcat/overlay/cn01.cpio"));
    expect(overlay.mode & 0o7777).toBe(servedPerms(undefined).mode);
    // xcimg's built-in syslog travels in the plan's directory with the runner and mypostscript;
    // only the name nobody provides is reported (postscripts.test.ts runs them)
    const entries = readNewc(readFileSync(tftp("xcat/overlay/cn01.cpio")));
    const names = entries.map((e) => e.name.toString());
    for (const f of ["builtins", "builtins/syslog", "postscripts.sh", "mypostscript"]) expect(names).toContain(`etc/xcimg/clone/${f}`);
    expect(names.indexOf("etc/xcimg/clone/builtins")).toBeLessThan(names.indexOf("etc/xcimg/clone/builtins/syslog"));
    const myps = entries.find((e) => e.name.toString() === "etc/xcimg/clone/mypostscript");
    expect(myps?.data.toString()).toContain("NODE='cn01'");
    expect(myps?.data.toString()).toContain("# postscripts-start-here\n# syslog\n# postscripts-end-here\n");
    expect(r.stderr).toMatch(/cn01: postscripts not in \S+, skipped: mysite\n/);
    for (const n of ["cn02", "cn03", "cn04"]) {
      expect(existsSync(tftp(`xcat/xnba/nodes/${n}`)), n).toBe(false);
      expect(existsSync(tftp(`xcat/overlay/${n}.cpio`)), n).toBe(false);
    }
    // the first-stage loaders, published once by the shared loop (core/dhcp/loaders.ts), as `boot` does
    if (existsSync("/usr/lib/ipxe/undionly.kpxe") || process.env.CI === "true")
      expect(readFileSync(tftp("xcat/xnba.kpxe")).equals(readFileSync("/usr/lib/ipxe/undionly.kpxe"))).toBe(true);
    const keys = JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8"));
    expect(Object.keys(keys)).toEqual(["cn01"]);
    const cn01 = (await sb.run("node", "show", "cn01")).stdout;
    expect(cn01).toContain("currstate=sysclone debian12-x86_64\n");
    expect(cn01).toContain("status=installing\n");
    expect((await sb.run("node", "show", "cn03")).stdout).not.toContain("currstate=");
  });

  test("a node still being cloned keeps its job when clone runs again", async () => {
    const first = /xcimg\.clone=(\S+)/.exec(readFileSync(tftp("xcat/xnba/nodes/cn01"), "utf8"))?.[1];
    expect(first).toBeDefined();
    const r = await sb.run("clone", "cn01", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(/\(job (\S+)\)/.exec(r.stdout)?.[1]).toBe(first);
  });
});
