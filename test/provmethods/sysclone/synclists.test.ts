import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { goldenGpt } from "../../helpers/clone-layouts";
import { Sandbox } from "../../helpers/sandbox";

/**
 * The image's synclists reach its clones at clone time: `xcimg clone` stages the entries for
 * every node (APPEND and MERGE starting from the image's own files) into an archive unpacked on
 * each clone's disk after its overrides; the captured tree is left as it was. A bad synclist
 * stops the clone before any node is touched, and a link in the image under APPEND is refused.
 */
let sb: Sandbox;
const IMG = "sc";
let tree = "";
let src = "";
const archive = () => join(sb.installdir, "sysclone/clone/.overrides/synclists", `${IMG}.tar.gz`);
const tarFile = (path: string) => {
  const r = Bun.spawnSync(["tar", "-xzOf", archive(), `./${path}`], { stdout: "pipe", stderr: "pipe" });
  return r.exitCode === 0 ? r.stdout.toString() : null;
};

beforeAll(async () => {
  sb = new Sandbox("clone-sync");
  tree = join(sb.installdir, "sysclone/images", IMG);
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
  writeFileSync(join(tree, "etc/motd"), "golden motd\n");
  writeFileSync(join(tree, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nold:x:1000:1000::/home/old:/bin/sh\n");
  expect((await sb.run("image", "set", IMG, "provmethod=sysclone", "osvers=debian12", "osarch=x86_64", `rootimgdir=${tree}`)).code).toBe(0);
  expect((await sb.run("node", "set", "cn01", "groups=all", "mac=52:54:00:00:00:01", "ip=10.0.0.11")).code).toBe(0);
  const db = new Database(sb.dbPath);
  const { layout, entries } = goldenGpt();
  db.query("INSERT INTO xcimg_capture (imagename, node, disk_layout, files) VALUES (?, 'golden', ?, ?)").run(IMG, JSON.stringify(layout), entries);
  db.close();
  src = join(sb.installdir, "custom/sync");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "hosts"), "10.0.0.1 mn\n");
  writeFileSync(join(src, "motd.add"), "synced line\n");
  writeFileSync(join(src, "users"), "old:x:1000:1000::/home/new:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\n");
  writeFileSync(join(src, "only"), "cn01 only\n");
  writeFileSync(join(src, "restart"), "#!/bin/sh\n", { mode: 0o755 });
});
afterAll(() => sb?.cleanup());

describe("clone: synclists at clone time", () => {
  test("without a synclist there is no synclist archive", async () => {
    const r = await sb.run("clone", "cn01", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(archive())).toBe(false);
    expect(readFileSync(join(sb.tftpdir, "xcat/overlay/cn01.cpio")).includes("synclists/")).toBe(false);
  });

  test("the dry run names them; the clone stages them (APPEND and MERGE from the image's files) after the overrides; the tree is unchanged", async () => {
    const list = join(src, "compute.synclist");
    writeFileSync(
      list,
      [
        `${src}/hosts -> /etc/hosts`,
        `${src}/only -> (cn02) /etc/only`,
        "APPEND:",
        `${src}/motd.add -> /etc/motd`,
        "MERGE:",
        `${src}/users -> /etc/passwd`,
        "EXECUTEALWAYS:",
        `${src}/restart`,
        "",
      ].join("\n"),
    );
    expect((await sb.run("image", "set", IMG, `synclists=${list}`)).code).toBe(0);
    const dry = await sb.run("clone", "cn01", "-o", IMG, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`cn01: would clone ${IMG} (xnba, synclists ${list})`);
    expect(existsSync(archive())).toBe(false); // a dry run writes nothing
    const r = await sb.run("clone", "cn01", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("synclist entries for some nodes only");
    expect(r.stderr).toContain(`not run at clone time (run on the clones by 'xcimg updatenode -F'): ${src}/restart`);
    expect(tarFile("etc/hosts")).toBe("10.0.0.1 mn\n");
    expect(tarFile("etc/motd")).toBe("golden motd\nsynced line\n");
    expect(tarFile("var/xcat/node/syncfiles/org/etc/motd")).toBe("golden motd\n");
    expect(tarFile("etc/passwd")).toBe("root:x:0:0:root:/root:/bin/bash\nold:x:1000:1000::/home/new:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\n");
    expect(tarFile("etc/only")).toBeNull(); // a noderange entry: updatenode -F
    // the captured tree stays as captured
    expect(readFileSync(join(tree, "etc/motd"), "utf8")).toBe("golden motd\n");
    expect(existsSync(join(tree, "etc/hosts"))).toBe(false);
    // the node's plan lists the archive among its overrides (in its overlay)
    expect(readFileSync(join(sb.tftpdir, "xcat/overlay/cn01.cpio")).includes(`/install/sysclone/clone/.overrides/synclists/${IMG}.tar.gz`)).toBe(true);
  });

  test("a bad synclist line stops the clone with file and line, the node's files unchanged", async () => {
    const before = readFileSync(join(sb.tftpdir, "xcat/xnba/nodes/cn01"), "utf8");
    const list = join(src, "bad.synclist");
    writeFileSync(list, `${src}/hosts -> /etc/hosts\nrelative/file -> /etc/x\n`);
    expect((await sb.run("image", "set", IMG, `synclists=${list}`)).code).toBe(0);
    const r = await sb.run("clone", "cn01", "-o", IMG);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${list}:2`);
    expect(readFileSync(join(sb.tftpdir, "xcat/xnba/nodes/cn01"), "utf8")).toBe(before);
  });

  test("APPEND onto a link in the image (to the management node's /etc/shadow) is refused (exit 65), nothing followed", async () => {
    rmSync(join(tree, "etc/motd"));
    symlinkSync("/etc/shadow", join(tree, "etc/motd"));
    const list = join(src, "append.synclist");
    writeFileSync(list, `APPEND:\n${src}/motd.add -> /etc/motd\n`);
    expect((await sb.run("image", "set", IMG, `synclists=${list}`)).code).toBe(0);
    const r = await sb.run("clone", "cn01", "-o", IMG);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("/etc/motd in the image");
    expect(r.stderr).toContain("is a symbolic link");
  });
});
