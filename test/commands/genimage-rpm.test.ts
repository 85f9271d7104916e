import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeRpmRepo, mountsUnder } from "../helpers/rpm-repo";
import { Sandbox } from "../helpers/sandbox";

/**
 * genimage's EL backend through the compiled binary: dnf --installroot on this Debian machine
 * from a real, signed RPM repository made in the test (rpmbuild, rpmsign, createrepo_c). Each
 * bad input is refused with its message and exit code, the previous tree, its record and the
 * image row unchanged, and no mount left in the MN's namespace.
 */
let sb: Sandbox;
let good: string;
let bad: string;
const IMG = "rocky9.4-x86_64-netboot-compute";
const rootimgdir = () => join(sb.installdir, "netboot/rocky9.4/x86_64/compute");
const tree = () => join(rootimgdir(), "rootimg");
const lists = () => join(sb.dir, "lists");
const rpmQa = (t: string) =>
  execFileSync("rpm", ["--root", t, "--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME}\\n"], { encoding: "utf8", env: { ...process.env, HOME: sb.dir } })
    .split("\n")
    .filter((n) => n && !n.startsWith("gpg-pubkey"))
    .sort();

/** What must not change when a build is refused: the tree's listing, the record, the kernel, the row. */
async function snapshot(): Promise<string> {
  const listing = spawnSync("find", [rootimgdir(), "-path", "*/.xcimg-genimage.rootimg", "-prune", "-o", "-printf", "%P %m %s %T@\\n"], { encoding: "utf8" })
    .stdout.split("\n")
    .sort()
    .join("\n");
  const row = (await sb.bin(["image", "show", IMG])).stdout;
  return `${listing}\n${readFileSync(join(rootimgdir(), "genimage.json"), "utf8")}\n${row}`;
}

function write(name: string, text: string, mode = 0o644): string {
  const p = join(lists(), name);
  writeFileSync(p, text, { mode });
  chmodSync(p, mode);
  return p;
}

beforeAll(() => {
  sb = new Sandbox("genimage-rpm");
  execFileSync("mkdir", ["-p", join(sb.dir, "lists")]);
  good = makeRpmRepo(join(sb.dir, "good"), [
    { name: "el-a", sign: "good" },
    { name: "el-b", sign: "good" },
    { name: "el-c", sign: "good" },
    {
      name: "el-kernels",
      sign: "good",
      files: {
        "/boot/vmlinuz-5.14.0-1.el9.x86_64": "k1",
        "/boot/vmlinuz-5.14.0-10.el9.x86_64": "k10",
        "/boot/vmlinuz-5.14.0-11.el9.x86_64+debug": "kdebug",
        "/boot/vmlinuz-0-rescue-0123": "krescue",
      },
    },
  ]).repo;
  bad = makeRpmRepo(join(sb.dir, "bad"), [
    { name: "el-unsigned", sign: "unsigned" },
    { name: "el-wrongkey", sign: "wrong" },
  ]).repo;
}, 120_000);

afterAll(() => {
  for (const m of mountsUnder(sb.dir).reverse()) spawnSync("umount", ["-l", m]);
  sb.cleanup();
});

describe("genimage, EL family (dnf --installroot)", () => {
  test("two transactions, an include, -pkg removal, kernels by version, postinstall with arguments and IMG_*", async () => {
    write("compute.pkglist", "# EL compute\nel-a\n#INCLUDE:more.pkglist#\n#NEW_INSTALL_LIST#\nel-b\n");
    write("more.pkglist", "el-c\nel-kernels\n");
    write("other.pkglist", "-el-c\n");
    write(
      "post.sh",
      '#!/bin/sh\nset -e\nprintf "%s|" "$@" > "$1/etc/postinstall.out"\nenv | grep "^IMG_\\|^XCIMG_SITE=" | sort > "$1/etc/postinstall.env"\ntest -r "$1/proc/self/status"\n',
      0o755,
    );
    const set = await sb.bin([
      "image",
      "set",
      IMG,
      "osvers=rocky9.4",
      "osarch=x86_64",
      "profile=compute",
      "provmethod=netboot",
      `pkglist=${join(lists(), "compute.pkglist")}`,
      `pkgdir=${good}`,
      `otherpkglist=${join(lists(), "other.pkglist")}`,
      `otherpkgdir=${good}`,
      `postinstall=${join(lists(), "post.sh")} one two`,
      "environvar=XCIMG_SITE=lab1",
    ]);
    expect(set.code).toBe(0);
    const r = await sb.bin(["genimage", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Built image ${IMG}`);
    // the image's own rpmdb, in the image (not <tree>/root/.rpmdb, where Debian's %_dbpath would put it)
    expect(rpmQa(tree())).toEqual(["el-a", "el-b", "el-kernels"]);
    expect(existsSync(join(tree(), "root/.rpmdb"))).toBe(false);
    // #NEW_INSTALL_LIST#: two install transactions, then the removal (dnf's own history in the tree)
    const history = new Database(join(tree(), "var/lib/dnf/history.sqlite"), { readonly: true });
    const trans = history.query("SELECT count(*) AS n FROM trans").get() as { n: number };
    history.close();
    expect(trans.n).toBe(3);
    // the kernel by parsed version: -10 over -1, the debug and rescue kernels never picked
    expect(readFileSync(join(rootimgdir(), "kernel"), "utf8").trim()).toBe("k10");
    const k = await sb.bin(["image", "kernels", IMG]);
    expect(k.code).toBe(0);
    expect(k.stdout).toContain("* 5.14.0-10.el9.x86_64");
    // postinstall: $1=tree $2=osver $3=arch $4=profile $5...=args, xCAT's IMG_* variables, /proc mounted
    expect(readFileSync(join(tree(), "etc/postinstall.out"), "utf8")).toMatch(/^\/.*\/staging\.\d+\|rocky9\.4\|x86_64\|compute\|one\|two\|$/);
    const env = readFileSync(join(tree(), "etc/postinstall.env"), "utf8");
    for (const v of [
      "IMG_NAME=rocky9.4-x86_64-netboot-compute",
      "IMG_OSVER=rocky9.4",
      "IMG_ARCH=x86_64",
      "IMG_PROFILE=compute",
      `IMG_PKGDIR=${good}`,
      "IMG_KERNELVERSION=5.14.0-10.el9.x86_64",
      "XCIMG_SITE=lab1",
    ])
      expect(env).toContain(v);
    // the node's tree: sealed on the MN, empty machine-id, stateless fstab, recorded packages
    expect(statSync(tree()).mode & 0o7777).toBe(0o700);
    expect(readFileSync(join(tree(), "etc/machine-id"), "utf8")).toBe("");
    expect(readFileSync(join(tree(), "etc/fstab"), "utf8")).toContain("devpts");
    const rec = JSON.parse(readFileSync(join(rootimgdir(), "genimage.json"), "utf8"));
    expect(rec.packages.map((p: { name: string }) => p.name)).toEqual(["el-a", "el-b", "el-kernels"]);
    expect(rec.kernel.version).toBe("5.14.0-10.el9.x86_64");
    expect(rec.inputs.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 300_000);

  test("-k picks that kernel and is written back into linuximage.kernelver, as xCAT's genimage does", async () => {
    const r = await sb.bin(["genimage", IMG, "-k", "5.14.0-1.el9.x86_64", "--noupdate"]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(readFileSync(join(rootimgdir(), "kernel"), "utf8").trim()).toBe("k1");
    expect((await sb.bin(["image", "show", IMG])).stdout).toContain("kernelver=5.14.0-1.el9.x86_64");
    const back = await sb.bin(["image", "set", IMG, "kernelver="]);
    expect(back.code).toBe(0);
  }, 300_000);

  test("--dryrun prints the dnf commands and changes nothing", async () => {
    const before = await snapshot();
    const r = await sb.bin(["genimage", IMG, "--dryrun", "--fresh"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("dnf -y --noplugins");
    expect(r.stdout).toContain("--installroot=");
    expect(r.stdout).toContain("install 'el-b'");
    expect(await snapshot()).toBe(before);
  }, 120_000);

  const refusals: [string, string[], () => void, number, RegExp][] = [
    [
      "a package no repository has",
      [],
      () => write("compute.pkglist", "el-a\nel-nope\n"),
      66,
      /package el-nope is in none of the repositories searched: file:\/\/.*\/good\/repo/,
    ],
    ["a pkgdir without repodata", ["pkgdir"], () => {}, 65, /holds no repository: no repodata/],
    [
      "a missing #INCLUDE:#",
      [],
      () => write("compute.pkglist", "el-a\n#INCLUDE:gone.pkglist#\n"),
      66,
      /cannot read the package list .*gone\.pkglist \(named by #INCLUDE:# in .*compute\.pkglist\)/,
    ],
    ["a non-executable postinstall", [], () => write("post.sh", "#!/bin/sh\nexit 0\n", 0o644), 65, /postinstall script .*post\.sh is not executable/],
    [
      "a failing postinstall",
      [],
      () => write("post.sh", "#!/bin/sh\necho broken >&2\nexit 3\n", 0o755),
      74,
      /postinstall script .*post\.sh failed \(exit 3\): broken/,
    ],
  ];
  for (const [what, attr, prepare, code, message] of refusals) {
    test(`refused before the tree changes: ${what} (exit ${code})`, async () => {
      write("compute.pkglist", "el-a\n#INCLUDE:more.pkglist#\n#NEW_INSTALL_LIST#\nel-b\n");
      write("post.sh", "#!/bin/sh\nexit 0\n", 0o755);
      prepare();
      if (attr.includes("pkgdir")) expect((await sb.bin(["image", "set", IMG, `pkgdir=${lists()}`])).code).toBe(0);
      const before = await snapshot();
      const r = await sb.bin(["genimage", IMG, "--fresh"]);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("hint:");
      expect(r.code).toBe(code);
      expect(await snapshot()).toBe(before);
      expect(mountsUnder(sb.dir)).toEqual([]);
      if (attr.includes("pkgdir")) expect((await sb.bin(["image", "set", IMG, `pkgdir=${good}`])).code).toBe(0);
    }, 300_000);
  }

  test("an osvers of no known family is refused (65)", async () => {
    const before = await snapshot();
    const r = await sb.bin(["genimage", IMG, "-o", "plan9"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("osvers 'plan9' is no distribution family genimage knows");
    expect(await snapshot()).toBe(before);
  }, 120_000);

  test("kill -9 mid-build: no mount remains, the previous tree is intact, the next run succeeds", async () => {
    write("post.sh", '#!/bin/sh\ntouch "$1/../started"\nsleep 60\n', 0o755);
    const before = await snapshot();
    const proc = Bun.spawn([join(import.meta.dir, "../../dist/xcimg"), "genimage", IMG, "--fresh"], {
      env: sb.env as Record<string, string>,
      stdout: "ignore",
      stderr: "ignore",
    });
    const work = join(rootimgdir(), ".xcimg-genimage.rootimg");
    const deadline = Date.now() + 120_000;
    while (!existsSync(join(work, "started")) && Date.now() < deadline) await Bun.sleep(100);
    expect(existsSync(join(work, "started"))).toBe(true);
    expect(mountsUnder(sb.dir)).toEqual([]); // the postinstall's proc/sys/dev exist only in its namespace
    proc.kill(9);
    await proc.exited;
    await Bun.sleep(500);
    expect(mountsUnder(sb.dir)).toEqual([]);
    // the namespace died with xcimg: no sleeping postinstall is left
    expect(spawnSync("pgrep", ["-f", `${join(lists(), "post.sh")}`]).status).toBe(1);
    expect(readdirSync(work).some((n) => n.startsWith("staging."))).toBe(true);
    expect(await snapshot()).toBe(before);
    rmSync(join(work, "started"));
    write("post.sh", "#!/bin/sh\nexit 0\n", 0o755);
    const r = await sb.bin(["genimage", IMG, "--fresh"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("left by an interrupted genimage");
    expect(readdirSync(work).some((n) => n.startsWith("staging."))).toBe(false);
    expect(rpmQa(tree())).toEqual(["el-a", "el-b", "el-kernels"]);
  }, 300_000);

  test("Ctrl-C mid-build: exit 130, no mount remains, the previous tree is intact", async () => {
    write("post.sh", '#!/bin/sh\ntouch "$1/../started"\nsleep 60\n', 0o755);
    const before = await snapshot();
    const work = join(rootimgdir(), ".xcimg-genimage.rootimg");
    const proc = Bun.spawn([join(import.meta.dir, "../../dist/xcimg"), "genimage", IMG, "--fresh"], {
      env: sb.env as Record<string, string>,
      stdout: "ignore",
      stderr: "pipe",
    });
    const deadline = Date.now() + 120_000;
    while (!existsSync(join(work, "started")) && Date.now() < deadline) await Bun.sleep(100);
    proc.kill("SIGINT");
    const code = await proc.exited;
    const stderr = await new Response(proc.stderr).text();
    expect(code).toBe(130);
    expect(stderr).toContain("Error:");
    expect(mountsUnder(sb.dir)).toEqual([]);
    expect(spawnSync("pgrep", ["-f", `${join(lists(), "post.sh")}`]).status).toBe(1);
    expect(readdirSync(work).some((n) => n.startsWith("staging."))).toBe(false);
    expect(await snapshot()).toBe(before);
    rmSync(join(work, "started"), { force: true });
    write("post.sh", "#!/bin/sh\nexit 0\n", 0o755);
  }, 300_000);

  test("a full disk is said as such (74), and leaves nothing behind", async () => {
    const IMG3 = "rocky9.4-x86_64-netboot-full";
    const dir3 = join(sb.installdir, "netboot/rocky9.4/x86_64/full");
    execFileSync("mkdir", ["-p", dir3]);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=96k", "xcimg-test-full", dir3]);
    try {
      expect(
        (
          await sb.bin([
            "image",
            "set",
            IMG3,
            "osvers=rocky9.4",
            "osarch=x86_64",
            "profile=full",
            "provmethod=netboot",
            `pkglist=${join(lists(), "compute.pkglist")}`,
            `pkgdir=${good}`,
          ])
        ).code,
      ).toBe(0);
      write("compute.pkglist", "el-a\n#INCLUDE:more.pkglist#\n#NEW_INSTALL_LIST#\nel-b\n");
      const r = await sb.bin(["genimage", IMG3]);
      expect(r.stderr).toMatch(new RegExp(`the filesystem holding ${dir3} is full`));
      expect(r.stderr).toContain(`hint: free space there (df -h ${dir3})`);
      expect(r.code).toBe(74);
      expect(readdirSync(dir3).filter((n) => n !== ".xcimg-genimage.rootimg")).toEqual([]);
      expect(readdirSync(join(dir3, ".xcimg-genimage.rootimg")).filter((n) => n.startsWith("staging."))).toEqual([]);
    } finally {
      spawnSync("umount", [dir3]);
    }
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 300_000);

  test("an unsigned or wrongly-signed package is refused (65); --insecure lets it through, announced", async () => {
    const IMG2 = "rocky9.4-x86_64-netboot-unsigned";
    write("unsigned.pkglist", "el-unsigned\n");
    write("wrongkey.pkglist", "el-wrongkey\n");
    expect(
      (
        await sb.bin([
          "image",
          "set",
          IMG2,
          "osvers=rocky9.4",
          "osarch=x86_64",
          "profile=unsigned",
          "provmethod=netboot",
          `pkglist=${join(lists(), "unsigned.pkglist")}`,
          `pkgdir=${bad}`,
        ])
      ).code,
    ).toBe(0);
    const t2 = join(sb.installdir, "netboot/rocky9.4/x86_64/unsigned/rootimg");
    const refused = await sb.bin(["genimage", IMG2]);
    expect(refused.stderr).toMatch(/dnf refused a package whose signature does not verify/);
    expect(refused.code).toBe(65);
    expect(existsSync(join(sb.installdir, "netboot/rocky9.4/x86_64/unsigned"))).toBe(false); // a failed first build leaves nothing
    const insecure = await sb.bin(["genimage", IMG2, "--insecure"]);
    expect(insecure.stderr).toContain("--insecure: packages and repositories of");
    expect(insecure.code).toBe(0);
    expect(rpmQa(t2)).toEqual(["el-unsigned"]);
    expect((await sb.bin(["image", "set", IMG2, `pkglist=${join(lists(), "wrongkey.pkglist")}`])).code).toBe(0);
    const listing = spawnSync("find", [t2, "-printf", "%P %s\\n"], { encoding: "utf8" }).stdout;
    const wrong = await sb.bin(["genimage", IMG2, "--fresh"]);
    expect(wrong.stderr).toMatch(/dnf refused a package whose signature does not verify/);
    expect(wrong.code).toBe(65);
    expect(spawnSync("find", [t2, "-printf", "%P %s\\n"], { encoding: "utf8" }).stdout).toBe(listing);
    expect(rpmQa(t2)).toEqual(["el-unsigned"]);
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 300_000);
});
