import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type CaptureEnv, captureEnv } from "../helpers/capture-env";
import { readNewc } from "../helpers/newc";
import { Sandbox } from "../helpers/sandbox";
import { asNobody, openPathTo } from "../helpers/unprivileged";

/**
 * Image trees are whole root filesystems: setuid-root programs and 0666 device nodes. A local
 * user of the management node must not reach them (issue #12, finding 1), while what nodes get
 * keeps every mode. Real capture over the sshd helper, real import of a bundle, real pack; the
 * "local user" is nobody without capabilities (runuser), with every directory above
 * the image directory opened (o+rx), as /install is on a real MN.
 */
let env: CaptureEnv;
let golden: string;
const IMAGE = "debian12-x86_64-netboot-compute";
const rootimgdir = () => join(env.sb.installdir, "netboot/debian12/x86_64/compute");
const tree = () => join(rootimgdir(), "rootimg");
/** A setuid-root copy of id(1): run by nobody, it prints euid=0 when the tree is reachable. */
const SUID = "usr/local/bin/id-suid";
/** A 0666 character device (1,3 = /dev/null's numbers: harmless to open). */
const DEVICE = "opt/devnode";

/** The golden node's files: a root with a setuid program and a device node (not under /dev: capture keeps /dev empty). */
function makeGolden(root: string): void {
  for (const d of ["etc", "usr/local/bin", "opt", "boot"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
  writeFileSync(join(root, "boot/vmlinuz-6.1.0-13-amd64"), "kernel\n");
  copyFileSync("/usr/bin/id", join(root, SUID));
  chmodSync(join(root, SUID), 0o4755);
  execSync(`mknod -m 0666 '${join(root, DEVICE)}' c 1 3`);
  chmodSync(root, 0o755);
}

/** What nobody gets when it tries the tree's setuid program and device node. */
function nobodyAttempts(t: string) {
  return {
    stat: asNobody(["stat", "-c", "%a", join(t, SUID)]),
    exec: asNobody([join(t, SUID), "-u"]),
    open: asNobody(["head", "-c", "1", join(t, DEVICE)]),
  };
}

function expectDenied(t: string): void {
  const a = nobodyAttempts(t);
  for (const r of [a.stat, a.exec, a.open]) {
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Permission denied");
  }
  expect(a.exec.stdout).toBe("");
}

/** The archive's entries by name. */
function cpioEntries(file: string) {
  return new Map(readNewc(gunzipSync(readFileSync(file))).map((e) => [e.name.toString("latin1"), e]));
}

beforeAll(async () => {
  env = await captureEnv("barrier");
  golden = join(env.sb.dir, "golden");
  makeGolden(golden);
  openPathTo(env.sb.installdir);
});
afterAll(async () => await env.stop());

describe("image trees are out of local users' reach", () => {
  test("capture: the tree's top is root:root 0700, nobody cannot stat or run its setuid program or open its device node", async () => {
    const r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", golden);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    const st = statSync(tree());
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, 0, 0]);
    // inside, everything is as the node has it
    expect(statSync(join(tree(), SUID)).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(tree(), DEVICE)).mode & 0o7777).toBe(0o666);
    // the node's / as the golden node had it, recorded beside the tree
    expect(readFileSync(join(rootimgdir(), ".rootimg.node-mode"), "utf8")).toBe("mode=0755 uid=0 gid=0\n");
    expectDenied(tree());
    // the image directory stays readable: nodes fetch kernel and archive from it over HTTP
    expect(asNobody(["ls", rootimgdir()]).code).toBe(0);
  });

  test("pack: the archive's / is 0755 and its program keeps the setuid bit; the tree stays closed", async () => {
    const r = await env.sb.run("pack", IMAGE);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("closed"); // capture already closed it
    const e = cpioEntries(join(rootimgdir(), "rootimg.cpio.gz"));
    expect(e.get(".")?.mode).toBe(0o40755);
    expect([e.get(".")?.uid, e.get(".")?.gid]).toEqual([0, 0]);
    expect(e.get(SUID)?.mode).toBe(0o104755);
    expect(e.get(DEVICE)?.mode).toBe(0o20666);
    expect(statSync(tree()).mode & 0o7777).toBe(0o700);
    expectDenied(tree());
    // the archive itself is what nodes fetch: readable by the web server's user
    expect(asNobody(["head", "-c", "2", join(rootimgdir(), "rootimg.cpio.gz")]).code).toBe(0);
  });

  test("a re-capture stays incremental: the barrier is not an edit on the management node", async () => {
    const r = await env.sb.run("--json", "capture", "golden", "-t", "diskless", "--rootdir", golden);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).level).toBe("incremental");
    expect(statSync(tree()).mode & 0o7777).toBe(0o700);
  });

  test("pack -m tar and -m squashfs: / is 0755 there too, the setuid bit kept", async () => {
    expect((await env.sb.run("pack", IMAGE, "-m", "tar")).code).toBe(0);
    const tar = execSync(`tar -tvzf '${join(rootimgdir(), "rootimg.tar.gz")}' --numeric-owner`)
      .toString()
      .split("\n");
    expect(tar[0]).toMatch(/^drwxr-xr-x 0\/0 .* \.\/?$/);
    expect(tar.find((l) => l.endsWith(SUID))).toMatch(/^-rwsr-xr-x 0\/0 /);
    expect((await env.sb.run("pack", IMAGE, "-m", "squashfs")).code).toBe(0);
    const sfs = execSync(`unsquashfs -lln '${join(rootimgdir(), "rootimg.sfs")}'`)
      .toString()
      .split("\n");
    const top = sfs.find((l) => / squashfs-root$/.test(l));
    expect(top).toMatch(/^drwxr-xr-x 0\/0 /);
    expect(sfs.find((l) => l.endsWith(SUID))).toMatch(/^-rwsr-xr-x 0\/0 /);
    expect(readdirSync(rootimgdir()).filter((n) => /xcimg-tmp|xcimg-sfs/.test(n))).toEqual([]);
    expect((await env.sb.run("pack", IMAGE)).code).toBe(0); // back to the default archive for the tests below
  });

  test("a golden node whose / is 0711 and owned by a user: the node gets that, the MN tree is root:root 0700", async () => {
    chmodSync(golden, 0o711);
    execSync(`chown 1234:1234 '${golden}'`);
    try {
      const r = await env.sb.run("capture", "golden", "-t", "sysclone", "-o", "odd-top", "--rootdir", golden);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      const t = join(env.sb.installdir, "sysclone/images/odd-top");
      const st = statSync(t);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, 0, 0]);
      expect(readFileSync(join(env.sb.installdir, "sysclone/images/.odd-top.node-mode"), "utf8")).toBe("mode=0711 uid=1234 gid=1234\n");
      expectDenied(t);
      // export carries the node's / in the bundle, and import records it on the other site
      const bundle = join(env.sb.dir, "odd-top.tgz");
      const e = await env.sb.run("export", "odd-top", bundle);
      expect(e.stderr).not.toContain("Error");
      expect(e.code).toBe(0);
      const listed = execSync(`tar -tvzf '${bundle}' --numeric-owner`).toString().split("\n");
      expect(listed.find((l) => / \.\/odd-top\/imagetree\/?$/.test(l))).toMatch(/^drwx--x--x\*? 1234\/1234 /);
      const b = new Sandbox("barrier-sysclone-b");
      try {
        const i = await b.run("import", bundle);
        expect(i.stderr).not.toContain("Error");
        expect(i.code).toBe(0);
        const bt = join(b.installdir, "sysclone/images/odd-top");
        const bst = statSync(bt);
        expect([bst.mode & 0o7777, bst.uid, bst.gid]).toEqual([0o700, 0, 0]);
        expect(readFileSync(join(b.installdir, "sysclone/images/.odd-top.node-mode"), "utf8")).toBe("mode=0711 uid=1234 gid=1234\n");
      } finally {
        b.cleanup();
      }
      // image rm --files takes the record along with the tree
      expect((await env.sb.run("image", "rm", "odd-top", "--files")).code).toBe(0);
      expect(readdirSync(join(env.sb.installdir, "sysclone/images")).filter((n) => n.includes("odd-top"))).toEqual([]);
    } finally {
      execSync(`chown 0:0 '${golden}'`);
      chmodSync(golden, 0o755);
    }
  });

  test("a tree left open by an earlier xcimg is closed by the next pack, with an info line; nobody could run its setuid program as root before", async () => {
    chmodSync(tree(), 0o755); // what every tree looked like before the barrier
    rmSync(join(rootimgdir(), ".rootimg.node-mode"));
    expect(nobodyAttempts(tree()).exec.stdout.trim()).toBe("0"); // the finding: euid 0 for anyone
    const r = await env.sb.run("pack", IMAGE);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`closed ${tree()} to other users of this management node (root:root 0700, was 0:0 0755); nodes still get / as 0755`);
    expect(statSync(tree()).mode & 0o7777).toBe(0o700);
    expect(readFileSync(join(rootimgdir(), ".rootimg.node-mode"), "utf8")).toBe("mode=0755 uid=0 gid=0\n");
    expectDenied(tree());
    expect(cpioEntries(join(rootimgdir(), "rootimg.cpio.gz")).get(".")?.mode).toBe(0o40755);
    // said once
    expect((await env.sb.run("pack", IMAGE)).stderr).not.toContain("closed");
  });

  test("import: a bundle's tree arrives closed; its statelite rootimgtree.gz carries the node's / (0755), not the barrier", async () => {
    const a = env.sb;
    const sl = "debian12-x86_64-statelite-compute";
    // a statelite image over the captured tree (same directory layout, its own profile)
    const sldir = join(a.installdir, "netboot/debian12/x86_64/slc");
    mkdirSync(sldir, { recursive: true });
    execSync(`cp -a '${tree()}' '${join(sldir, "rootimg")}'`);
    expect((await a.run("image", "set", sl, "provmethod=statelite", "osvers=debian12", "osarch=x86_64", "profile=slc", "rootfstype=ramdisk")).code).toBe(0);
    writeFileSync(join(sldir, "kernel"), "kernel\n");
    writeFileSync(join(sldir, "initrd-statelite.gz"), Bun.gzipSync(Buffer.from("x")));
    expect(statSync(join(sldir, "rootimg")).mode & 0o7777).toBe(0o700);
    const bundle = join(a.dir, "sl.tgz");
    const e = await a.run("export", sl, bundle);
    expect(e.stderr).not.toContain("Error");
    expect(e.code).toBe(0);
    const x = join(a.dir, "bundle-x");
    mkdirSync(x);
    execSync(`tar -xzf '${bundle}' -C '${x}'`);
    const [gz] = execSync(`find '${x}' -name rootimgtree.gz`).toString().trim().split("\n");
    const top = readNewc(gunzipSync(readFileSync(gz as string)))[0];
    expect(top?.name.toString()).toBe("rootimg");
    expect(top?.mode).toBe(0o40755);

    const b = new Sandbox("barrier-b");
    try {
      openPathTo(b.installdir);
      const i = await b.run("import", bundle);
      expect(i.stderr).not.toContain("Error");
      expect(i.code).toBe(0);
      const bt = join(b.installdir, "netboot/debian12/x86_64/slc/rootimg");
      const st = statSync(bt);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, 0, 0]);
      expect(readFileSync(join(b.installdir, "netboot/debian12/x86_64/slc/.rootimg.node-mode"), "utf8")).toBe("mode=0755 uid=0 gid=0\n");
      expect(statSync(join(bt, SUID)).mode & 0o7777).toBe(0o4755);
      expectDenied(bt);
    } finally {
      b.cleanup();
    }
  });
});

describe("statelite NFS roots", () => {
  const NFS = "debian12-x86_64-statelite-nfsroot";
  let mnt: string;
  let site: Sandbox;

  beforeAll(async () => {
    // installdir on a tmpfs mounted nosuid,nodev: what docs/statelite.md asks of a site
    mnt = join(env.sb.dir, "nosuid");
    mkdirSync(mnt);
    execSync(`mount -t tmpfs -o size=64m,nosuid,nodev tmpfs '${mnt}'`);
    site = new Sandbox("barrier-nfs");
  });
  afterAll(() => {
    site.cleanup();
    spawnSync("umount", [mnt]);
  });

  async function nfsImage(sb: Sandbox, installdir: string): Promise<string> {
    const dir = join(installdir, "netboot/debian12/x86_64/nfsroot");
    mkdirSync(dir, { recursive: true });
    execSync(`cp -a '${tree()}' '${join(dir, "rootimg")}'`); // a closed tree, as capture leaves it
    writeFileSync(join(dir, ".rootimg.node-mode"), "mode=0755 uid=0 gid=0\n");
    expect((await sb.run("image", "set", NFS, "provmethod=statelite", "osvers=debian12", "osarch=x86_64", "profile=nfsroot", `rootimgdir=${dir}`)).code).toBe(
      0,
    );
    return join(dir, "rootimg");
  }

  test("lite opens an NFS root again (its top is the nodes' /) and warns when its filesystem lets setuid programs work here", async () => {
    const t = await nfsImage(site, site.installdir);
    const r = await site.run("lite", NFS);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${t} is an NFS root: its top directory is the nodes' /, so it is 0755 again (it was 0700)`);
    expect(statSync(t).mode & 0o7777).toBe(0o755);
    // this sandbox lives on the root filesystem, mounted without nosuid,nodev
    const opts =
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .find((l) => l.split(" ")[4] === "/")
        ?.split(" ")[5] ?? "";
    if (!opts.includes("nosuid"))
      expect(r.stderr).toContain(
        `Warning: ${t} is exported to nodes as their root and is open to local users of this management node, on a filesystem mounted without nosuid`,
      );
  });

  test("on a filesystem mounted nosuid,nodev: no warning, and the setuid program gives nobody no root", async () => {
    const sb = new Sandbox("barrier-nfs-nosuid");
    try {
      // the site's own config names its installdir; use the tmpfs instead
      writeFileSync(sb.config, readFileSync(sb.config, "utf8").replace(/^installdir = .*$/m, `installdir = "${mnt}"`));
      const t = await nfsImage(sb, mnt);
      openPathTo(mnt);
      const r = await sb.run("lite", NFS);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain("Warning");
      expect(statSync(t).mode & 0o7777).toBe(0o755);
      const a = nobodyAttempts(t);
      expect(a.exec.stdout.trim()).not.toBe("0"); // nosuid: the bit is ignored on the MN
      expect(a.open.code).not.toBe(0); // nodev: the device node cannot be opened
    } finally {
      sb.cleanup();
    }
  });
});
