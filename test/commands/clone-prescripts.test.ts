import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { goldenGpt } from "../helpers/clone-layouts";
import { Sandbox } from "../helpers/sandbox";

/**
 * Preparing clones is xCAT's `nodeset <nr> osimage=<sysclone image>`, so the prescripts table's
 * begin and end scripts run around `xcimg clone -o` (docs/boot.md, Prescripts), not around its
 * --dry-run or --update.
 */
let sb: Sandbox;
const IMG = "prsc";
let log: string;

beforeAll(async () => {
  sb = new Sandbox("clone-prescripts");
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
  for (const n of ["cn01", "cn02"]) expect((await sb.run("node", "set", n, "groups=compute,all", `mac=52:54:00:00:00:0${n.slice(-1)}`)).code).toBe(0);
  const db = new Database(sb.dbPath);
  const { layout, entries } = goldenGpt();
  db.query("INSERT INTO xcimg_capture (imagename, node, disk_layout, files) VALUES (?, 'golden', ?, ?)").run(IMG, JSON.stringify(layout), entries);
  db.close();
  const pre = join(sb.installdir, "prescripts");
  mkdirSync(pre, { recursive: true });
  log = join(sb.dir, "prescripts.log");
  writeFileSync(join(pre, "switchport"), `#!/bin/sh\necho "$0 NODES=$NODES ACTION=$ACTION" >>${log}\n`, { mode: 0o755 });
  writeFileSync(join(pre, "refuse"), "#!/bin/sh\necho 'rack PDU unreachable'\nexit 3\n", { mode: 0o755 });
});
afterAll(() => sb?.cleanup());

const seen = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);

describe("prescripts around xcimg clone", () => {
  test("begin and end run with ACTION=osimage=<img>; --dry-run runs none", async () => {
    expect((await sb.run("table", "set", "prescripts", "node=compute", "begin=switchport", "end=osimage:switchport")).code).toBe(0);
    let r = await sb.run("clone", "cn01,cn02", "-o", IMG, "--dry-run");
    expect(r.code, r.stderr).toBe(0);
    expect(seen()).toEqual([]);
    r = await sb.run("clone", "cn01,cn02", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    const script = join(sb.installdir, "prescripts", "switchport");
    expect(seen()).toEqual([`${script} NODES=cn01,cn02 ACTION=osimage=${IMG}`, `${script} NODES=cn01,cn02 ACTION=osimage=${IMG}`]);
  });

  test("a begin script returning more than 1 stops before any node is prepared", async () => {
    rmSync(join(sb.tftpdir, "xcat/xnba/nodes/cn02"), { force: true });
    expect((await sb.run("table", "set", "prescripts", "node=cn02", "begin=refuse")).code).toBe(0);
    const r = await sb.run("clone", "cn02", "-o", IMG);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("begin prescript refuse returned 3 for cn02: nothing was changed");
    expect(r.stderr).toContain("rack PDU unreachable");
    expect(existsSync(join(sb.tftpdir, "xcat/xnba/nodes/cn02"))).toBe(false);
  });
});
