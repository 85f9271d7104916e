import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readCaptureRecord } from "../../../src/core/capture/record";
import { openDb } from "../../../src/core/db/open";
import { lockImageDir } from "../../../src/core/fs/lock";
import { type CaptureEnv, captureEnv, leftovers, sh } from "../../helpers/capture-env";
import { compareTrees, makeFidelityTree } from "../../helpers/fidelity-tree";

/**
 * capture against a real OpenSSH sshd on 127.0.0.1, with --rootdir pointing at a fixture
 * tree that holds every fidelity case; results compared field by field with the source.
 */
let env: CaptureEnv;
let golden: string;
const IMAGE = "debian12-x86_64-netboot-compute";
const tree = () => join(env.sb.installdir, "netboot/debian12/x86_64/compute/rootimg");
/** xCAT's default list leaves out the contents of these (the directories stay). */
const excluded = (k: string) => /^(tmp|dev|proc)\/./.test(k);
const IDENTITY = [
  "etc/ssh/ssh_host_ed25519_key",
  "etc/ssh/ssh_host_ed25519_key.pub",
  "etc/machine-id",
  "var/lib/systemd/random-seed",
  "var/lib/dhcp/dhclient.eth0.leases",
];

async function capture(...args: string[]) {
  const r = await env.sb.run("--json", "capture", "golden", "--rootdir", golden, ...args);
  if (r.code !== 0) throw new Error(`capture failed (${r.code}): ${r.stderr}`);
  return { ...r, out: JSON.parse(r.stdout) };
}

function record(image: string) {
  const db = openDb(env.sb.dbPath);
  try {
    return readCaptureRecord(db, image) as Record<string, unknown>;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  env = await captureEnv("capture");
  golden = join(env.sb.dir, "golden");
  makeFidelityTree(golden);
});
afterAll(async () => await env.stop());

describe("capture over SSH", () => {
  test("a full capture keeps every fidelity case, field by field", async () => {
    const { out, stderr } = await capture("-t", "diskless", "--keep-identity");
    expect(out.level).toBe("full");
    expect(out.image).toBe(IMAGE);
    expect(out.tree).toBe(tree());
    expect(compareTrees(golden, tree(), { skip: excluded })).toEqual([]);
    // the checks compareTrees does, spelled out for the cases that matter most
    expect(sh(`getcap ${tree()}/usr/bin/ping`)).toContain("cap_net_raw=ep");
    expect(sh(`getfattr -n security.selinux --only-values ${tree()}/usr/bin/ping`)).toBe("system_u:object_r:ping_exec_t:s0");
    expect(sh(`getfacl -n -p ${tree()}/data/private`)).toContain("default:group:8765:r-x");
    expect(statSync(join(tree(), "usr/bin/sgid-user")).mode & 0o7777).toBe(0o6755);
    expect(statSync(join(tree(), "data/big-sparse")).size).toBe(5 * 1024 ** 3);
    expect(statSync(join(tree(), "data/big-sparse")).blocks).toBeLessThan(64);
    const at = (off: number) => {
      const fd = openSync(join(tree(), "data/big-sparse"), "r");
      const b = Buffer.alloc(4096);
      readSync(fd, b, 0, 4096, off);
      closeSync(fd);
      return [...new Set(b.toString("latin1"))].join("");
    };
    expect([at(0), at(4096), at(Math.floor(4.5 * 1024 ** 3)), at(5 * 1024 ** 3 - 4096)]).toEqual(["\0", "c", "d", "\0"]);
    for (const d of ["tmp", "dev", "proc"]) expect(readdirSync(join(tree(), d))).toEqual([]);
    expect(leftovers(tree())).toEqual([]);
    expect(out.files).toBeGreaterThan(15);
    expect(out.hardlinks).toBe(2);
    expect(out.bytes).toBeGreaterThan(5 * 1024 ** 3);
    expect(stderr).toContain("Capturing image on golden");

    const show = await env.sb.run("image", "show", IMAGE);
    for (const line of [
      "imagetype=linux",
      "osarch=x86_64",
      "osname=Linux",
      "osvers=debian12",
      "profile=compute",
      "provmethod=netboot",
      `rootimgdir=${join(env.sb.installdir, "netboot/debian12/x86_64/compute")}`,
    ]) {
      expect(show.stdout).toContain(`    ${line}\n`);
    }
    const rec = record(IMAGE);
    expect(rec.level).toBe("full");
    expect(rec.node).toBe("golden");
    expect(rec.address).toBe("127.0.0.1");
    expect(rec.rootdir).toBe(golden);
    expect(rec.kernels).toEqual([{ version: "6.1.0-9-amd64", kernel: "/boot/vmlinuz-6.1.0-9-amd64", initrd: "/boot/initrd.img-6.1.0-9-amd64", modules: true }]);
    expect((rec.excludes as { patterns: string[] }).patterns.slice(0, 6)).toEqual(["./tmp/*", "./proc/*", "./sys/*", "./dev/*", "./xcatpost/*", "./install/*"]);
    expect((rec.os_release as Record<string, string>).ID).toBe("debian");
    expect(rec.disk_layout).toBeNull(); // --rootdir: a directory, not the node's disks
  });

  test("re-capture sends only what changed, deletes what vanished, never writes the previous tree's inodes", async () => {
    // hold the previous image's inodes open: an fd does not change them, and outlives the tree
    const held = Object.fromEntries(["srv/links/b/two", "usr/bin/suid", "etc/os-release"].map((f) => [f, openSync(join(tree(), f), "r")]));
    const g = (p: string) => join(golden, p);
    writeFileSync(g("srv/links/b/two"), "LINKED CONTENT\n"); // same size, all three names share it
    sh(`chmod 4711 '${g("usr/bin/suid")}'`); // mode only
    sh(`chown -h 99:99 '${g("data/abs-link")}'`); // owner of a symlink only
    sh(`setfattr -n user.new -v 1 '${g("etc/os-release")}'`); // xattr only
    sh(`setfacl -m u:999:r '${g("data/owned")}'`); // ACL only
    sh(`touch -d '2010-01-01 00:00:00' '${g("etc/machine-id")}'`); // mtime only
    writeFileSync(g("data/new-file"), "new\n");
    mkdirSync(g("data/newdir/deeper"), { recursive: true });
    sh(`ln '${g("data/owned")}' '${g("data/owned-link")}'`);
    sh(`rm '${g("data/fifo")}' '${g("boot/initrd.img-6.1.0-9-amd64")}' && rmdir '${g("data/empty")}'`);
    sh(`mv '${g("srv/links/b")}' '${g("srv/links/c")}'`);
    sh(`rm '${g("data/dangling")}' && echo now-a-file > '${g("data/dangling")}'`); // symlink → file
    sh(`rm -r '${g("srv/links/a")}' && echo was-a-dir > '${g("srv/links/a")}'`); // directory → file
    sh(`mkdir '${g("data/abs-link.d")}'`);
    sh(`rm '${g("etc/hostname")}' && mkdir -m 0711 '${g("etc/hostname")}' && echo inside > '${g("etc/hostname/file")}'`); // file → directory

    const { out } = await capture("-t", "diskless", "--keep-identity");
    expect(out.level).toBe("incremental");
    expect(compareTrees(golden, tree(), { skip: excluded })).toEqual([]);
    expect(out.files).toBeLessThanOrEqual(12);
    expect(out.bytes).toBeLessThan(1024 * 1024); // the 5 GiB sparse file was not sent again
    expect(leftovers(tree())).toEqual([]);

    const content = (fd: number) => {
      const b = Buffer.alloc(64);
      return b.subarray(0, readSync(fd, b, 0, 64, 0)).toString();
    };
    expect(content(held["srv/links/b/two"] as number)).toBe("linked content\n");
    expect(fstatSync(held["usr/bin/suid"] as number).mode & 0o7777).toBe(0o4755);
    const oldXattrs = sh(`getfattr -d -m - /proc/${process.pid}/fd/${held["etc/os-release"]} || true`);
    expect(oldXattrs).not.toContain("user.new");
    for (const fd of Object.values(held)) closeSync(fd);
    expect(record(IMAGE).level).toBe("incremental");
  });

  test("nothing changed: an incremental capture sends no file data (and base/ catches up with every change above)", async () => {
    const { out } = await capture("-t", "diskless", "--keep-identity");
    expect(out.level).toBe("incremental");
    expect(out.files).toBe(0);
    expect(compareTrees(golden, tree(), { skip: excluded })).toEqual([]);
  });

  test("a tree changed on the management node is captured in full, which undoes the change", async () => {
    await Bun.sleep(20); // ext4 timestamps tick every few ms: stay clear of the state file's
    writeFileSync(join(tree(), "etc/ssh/sshd_config"), "edited on the MN\n");
    writeFileSync(join(tree(), "etc/added-on-mn"), "x");
    const { out, stderr } = await capture("-t", "diskless", "--keep-identity");
    expect(out.level).toBe("full");
    expect(stderr).toContain("was changed on this management node after the previous capture");
    expect(compareTrees(golden, tree(), { skip: excluded })).toEqual([]);
  });

  test("identity is generalized by default and every removal is listed", async () => {
    const { out, stderr } = await capture("-t", "diskless");
    expect(out.level).toBe("full"); // the previous capture kept the identity
    expect(stderr).toContain("Full capture: the previous capture kept the node's identity");
    expect(out.identityRemoved).toEqual([
      "/etc/ssh/ssh_host_ed25519_key",
      "/etc/ssh/ssh_host_ed25519_key.pub",
      "/etc/machine-id (emptied)",
      "/var/lib/systemd/random-seed",
      "/var/lib/dhcp/dhclient.eth0.leases",
    ]);
    const mid = statSync(join(tree(), "etc/machine-id"));
    expect([mid.size, mid.mode & 0o7777]).toEqual([0, 0o444]);
    const skip = (k: string) => excluded(k) || IDENTITY.includes(k);
    expect(compareTrees(golden, tree(), { skip })).toEqual([]);
    expect(readdirSync(join(tree(), "etc/ssh"))).toEqual(["sshd_config"]);

    // an incremental capture does not bring them back, and a new host key is removed again
    writeFileSync(join(golden, "etc/ssh/ssh_host_ed25519_key"), "NEW PRIVATE\n", { mode: 0o600 });
    const again = await capture("-t", "diskless");
    expect(again.out.level).toBe("incremental");
    expect(again.out.identityRemoved).toEqual(["/etc/ssh/ssh_host_ed25519_key"]);
    expect(readdirSync(join(tree(), "etc/ssh"))).toEqual(["sshd_config"]);
    expect(readFileSync(join(tree(), "etc/machine-id"), "utf8")).toBe("");
    expect(compareTrees(golden, tree(), { skip })).toEqual([]);
  });

  test("exclude lists: an imgcapture.exlist replaces xCAT's default; -x and --exclude-file add to it", async () => {
    const custom = join(env.sb.installdir, "custom/netboot/debian");
    mkdirSync(custom, { recursive: true });
    writeFileSync(join(custom, "excl.debian12.x86_64.imgcapture.exlist"), "# site list\n./proc/*\n./data/*sparse\n");
    const xfile = join(env.sb.dir, "more.exlist");
    writeFileSync(xfile, "/boot/*\n");
    const { out } = await capture("-t", "diskless", "-o", "excl-test", "-p", "excl", "-x", "srv/*", "--exclude-file", xfile);
    const t = out.tree as string;
    expect(t).toBe(join(env.sb.installdir, "netboot/debian12/x86_64/excl/rootimg"));
    expect(readFileSync(join(t, "tmp/junk"), "utf8")).toBe("scratch"); // not in this exlist
    expect(readdirSync(join(t, "proc"))).toEqual([]);
    expect(readdirSync(join(t, "data")).filter((n) => n.includes("sparse"))).toEqual([]);
    expect(readdirSync(join(t, "srv"))).toEqual([]);
    expect(readdirSync(join(t, "boot"))).toEqual([]);
    const rec = record("excl-test");
    expect(rec.excludes).toEqual({
      base: join(custom, "excl.debian12.x86_64.imgcapture.exlist"),
      patterns: ["./proc/*", "./data/*sparse", "./srv/*", "./boot/*"],
    });
    // a changed exclude list needs a full pass: what was left out must now be sent
    const again = await capture("-t", "diskless", "-o", "excl-test", "-x", "srv/*");
    expect(again.out.level).toBe("full");
    expect(readdirSync(join(t, "boot")).length).toBeGreaterThan(0);
  });

  test("a --rootdir whose name is not ASCII reaches the node byte for byte", async () => {
    const odd = join(env.sb.dir, "gold én $x 'q'");
    mkdirSync(join(odd, "etc"), { recursive: true });
    writeFileSync(join(odd, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
    writeFileSync(join(odd, "etc/motd"), "odd\n");
    const r = await env.sb.run("--json", "capture", "golden", "-t", "diskless", "--rootdir", odd, "-o", "odd", "-p", "odd");
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout).tree as string;
    expect(compareTrees(odd, t, { ignoreRootMtime: true })).toEqual([]);
    expect((await env.sb.run("--json", "capture", "golden", "-t", "diskless", "--rootdir", `${odd}/`, "-o", "odd")).stdout).toContain('"level": "incremental"');
  });

  test("sysclone: -o is required (xCAT's message); the tree goes to sysclone/images/<image>", async () => {
    const bad = await env.sb.run("capture", "golden", "-t", "sysclone", "--rootdir", golden);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('You must specify osimage name if you are using "sysclone".');
    const { out } = await capture("-t", "sysclone", "-o", "golden-sc", "--keep-identity");
    expect(out.provmethod).toBe("sysclone");
    expect(out.tree).toBe(join(env.sb.installdir, "sysclone/images/golden-sc"));
    expect(compareTrees(golden, out.tree, { skip: excluded })).toEqual([]);
    const show = await env.sb.run("image", "show", "golden-sc");
    expect(show.stdout).toContain("    provmethod=sysclone\n");
    expect(show.stdout).toContain(`    rootimgdir=${join(env.sb.installdir, "sysclone/images/golden-sc")}\n`);
    const wrong = await env.sb.run("capture", "golden", "-t", "diskless", "-o", "golden-sc", "--rootdir", golden);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toContain("has provmethod 'sysclone'");
    // image rm --files takes the tree, the capture's work area and its record
    expect((await env.sb.run("image", "rm", "golden-sc", "--files")).code).toBe(0);
    expect(readdirSync(join(env.sb.installdir, "sysclone/images"))).toEqual([]);
    expect(record("golden-sc")).toBeNull();
  });

  test("an existing image of another OS is refused in xCAT's words, before anything is written", async () => {
    expect((await env.sb.run("image", "set", "el9", "provmethod=netboot", "osvers=rhels9.4", "osarch=x86_64", "profile=compute")).code).toBe(0);
    const r = await env.sb.run("capture", "golden", "-t", "diskless", "-o", "el9", "--rootdir", golden);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`The 'osvers' or 'osarch' attribute of the "el9" table doesn't match the node's attribute`);
  });

  test("a command holding the image directory's lock makes capture wait its turn (exit 75)", async () => {
    const lock = lockImageDir(env.sb.installdir, join(tree(), ".."), "xcimg pack");
    try {
      const r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", golden);
      expect(r.code).toBe(75);
      expect(r.stderr).toContain("is locked by 'xcimg pack'");
    } finally {
      lock.release();
    }
  });
});
