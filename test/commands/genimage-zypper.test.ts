import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binfmtHandler, hostArch } from "../../src/core/genimage/cross-arch";
import { makeRpmRepo, mountsUnder } from "../helpers/rpm-repo";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * genimage's SUSE backend through the compiled binary: `zypper --root` (Debian's zypper) from
 * the same kind of real, signed RPM repository the EL test builds, laid out as SUSE media
 * carry it (the key in repodata/repomd.xml.key, the index signed in repomd.xml.asc). Each
 * refusal leaves the previous tree, its record and the row as they were, no mount in the MN's
 * namespace, and nothing in the MN's own zypper state (/etc/zypp, /var/cache/zypp, /run/zypp.pid).
 */
let sb: Sandbox;
let suse: string;
let bad: string;
const IMG = "sle15.5-x86_64-netboot-compute";
const rootimgdir = () => join(sb.installdir, "netboot/sle15.5/x86_64/compute");
const tree = () => join(rootimgdir(), "rootimg");
const lists = () => join(sb.dir, "lists");
const rpmQa = (t: string) =>
  execFileSync("rpm", ["--root", t, "--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME}\\n"], { encoding: "utf8", env: { ...process.env, HOME: sb.dir } })
    .split("\n")
    .filter((n) => n && !n.startsWith("gpg-pubkey"))
    .sort();
/** The zypper commands the tree's own history (/var/log/zypp/history) recorded, in order. */
const zypperHistory = (t: string) =>
  readFileSync(join(t, "var/log/zypp/history"), "utf8")
    .split("\n")
    .filter((l) => l.includes("|command|"))
    .map((l) => (/'(install|remove|update)'(.*?)\|/.exec(l) ?? [])[0]?.replace(/'/g, "").replace(/\|$/, "") ?? "");
/** The MN's own zypper state, which no build may touch. */
const hostZypp = () =>
  ["/etc/zypp", "/var/cache/zypp", "/var/lib/zypp", "/run/zypp.pid", "/var/log/zypper.log"]
    .map((p) => `${p}: ${existsSync(p) ? spawnSync("find", [p, "-printf", "%P %s %T@\\n"], { encoding: "utf8" }).stdout : "absent"}`)
    .join("\n");

async function snapshot(): Promise<string> {
  const listing = spawnSync("find", [rootimgdir(), "-path", "*/.xcimg-genimage.rootimg", "-prune", "-o", "-printf", "%P %m %s %T@\\n"], { encoding: "utf8" })
    .stdout.split("\n")
    .sort()
    .join("\n");
  const row = (await sb.bin(["image", "show", IMG])).stdout;
  return `${listing}\n${readFileSync(join(rootimgdir(), "genimage.json"), "utf8")}\n${row}`;
}

function write(name: string, text: string): string {
  const p = join(lists(), name);
  writeFileSync(p, text);
  return p;
}

/**
 * Run the binary in a new user namespace (with its own network namespace, which sysfs mounts
 * need there) holding its own binfmt_misc instance (Linux 6.7+ gives each user namespace one):
 * empty, or with qemu-user's handler for the other architecture registered — never this
 * machine's, which stays as it is.
 */
async function inPrivateBinfmt(register: boolean, argv: string[], program = BIN) {
  const q = hostArch() === "aarch64" ? "x86_64" : "aarch64";
  // qemu's ELF magic/mask for aarch64 and x86_64 (as qemu-user-static's binfmt.d files register them)
  const magic =
    q === "aarch64"
      ? "\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00"
      : "\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x3e\\x00";
  const mask =
    q === "aarch64"
      ? "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff"
      : "\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff";
  const script = [
    "set -e",
    'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || { echo "this test needs binfmt_misc in user namespaces (Linux 6.7+)" >&2; exit 99; }',
    ...(register ? [`printf ':qemu-${q}:M::${magic}:${mask}:/usr/bin/qemu-${q}:F' > /proc/sys/fs/binfmt_misc/register`] : []),
    'exec "$@"',
  ].join("\n");
  const proc = Bun.spawn(["unshare", "--user", "--map-root-user", "--mount", "--net", "--fork", "sh", "-c", script, "sh", program, ...argv], {
    env: sb.env as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text(), await proc.exited];
  if (code === 99) throw new Error(stderr);
  return { code, stdout, stderr };
}

let hostBefore = "";
beforeAll(() => {
  sb = new Sandbox("genimage-zypper");
  mkdirSync(lists());
  hostBefore = hostZypp();
  suse = makeRpmRepo(
    join(sb.dir, "suse"),
    [
      { name: "sle-a", sign: "good" },
      { name: "sle-b", sign: "good" },
      { name: "sle-c", sign: "good" },
      { name: "sle-kernel", sign: "good", files: { "/boot/vmlinuz-5.14.21-150500.55.19-default": "k5" } },
    ],
    { keyAt: "repomd" },
  ).repo;
  bad = makeRpmRepo(join(sb.dir, "bad"), [
    { name: "sle-unsigned", sign: "unsigned" },
    { name: "sle-wrongkey", sign: "wrong" },
  ]).repo;
}, 120_000);

afterAll(() => {
  for (const m of mountsUnder(sb.dir).reverse()) spawnSync("umount", ["-l", m]);
  sb.cleanup();
});

describe("genimage, SUSE family (zypper --root)", () => {
  test("two transactions, an include, -pkg removal, verified packages, the tree's own rpmdb; the MN's zypper state untouched", async () => {
    write("compute.pkglist", "# SLES compute\nsle-a\n#INCLUDE:more.pkglist#\n#NEW_INSTALL_LIST#\nsle-b\n");
    write("more.pkglist", "sle-c\nsle-kernel\n");
    write("other.pkglist", "-sle-c\n");
    const set = await sb.bin([
      "image",
      "set",
      IMG,
      "osvers=sle15.5",
      "osarch=x86_64",
      "profile=compute",
      "provmethod=netboot",
      `pkglist=${join(lists(), "compute.pkglist")}`,
      `pkgdir=${suse}`,
      `otherpkglist=${join(lists(), "other.pkglist")}`,
      `otherpkgdir=${suse}`,
    ]);
    expect(set.code).toBe(0);
    const r = await sb.bin(["genimage", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Built image ${IMG}`);
    // the tree's own rpm reads its database in its /var/lib/rpm (not Debian's ~/.rpmdb)
    expect(rpmQa(tree())).toEqual(["sle-a", "sle-b", "sle-kernel"]);
    expect(existsSync(join(tree(), "root/.rpmdb"))).toBe(false);
    // the repository's key went into the tree's rpmdb (how zypper verified the packages)
    const keys = execFileSync("rpm", ["--root", tree(), "--dbpath", "/var/lib/rpm", "-q", "gpg-pubkey"], {
      encoding: "utf8",
      env: { ...process.env, HOME: sb.dir },
    });
    expect(keys).toMatch(/^gpg-pubkey-/);
    // #NEW_INSTALL_LIST#: two install transactions, then the -pkg removal (zypper's own history in the tree)
    expect(zypperHistory(tree())).toEqual(["install --no-recommends sle-a sle-c sle-kernel", "install --no-recommends sle-b", "remove sle-c"]);
    expect(readFileSync(join(rootimgdir(), "kernel"), "utf8").trim()).toBe("k5");
    const rec = JSON.parse(readFileSync(join(rootimgdir(), "genimage.json"), "utf8"));
    expect(rec.backend).toBe("zypper");
    expect(rec.packages.map((p: { name: string }) => p.name)).toEqual(["sle-a", "sle-b", "sle-kernel"]);
    // a node's tree: no libzypp system id, the downloads kept in the genimage cache, not in the tree
    expect(existsSync(join(tree(), "var/lib/zypp/AnonymousUniqueId"))).toBe(false);
    expect(spawnSync("find", [join(tree(), "var/cache/zypp"), "-type", "f"], { encoding: "utf8" }).stdout).toBe("");
    const cached = spawnSync("find", [join(sb.installdir, ".cache/genimage/zypper/sle15.5-x86_64/zypp"), "-name", "*.rpm"], { encoding: "utf8" }).stdout;
    expect(cached).toContain("sle-a-1.0-1.noarch.rpm");
    expect(mountsUnder(sb.dir)).toEqual([]);
    expect(hostZypp()).toBe(hostBefore);
  }, 300_000);

  test("a rebuild goes over a copy of the current tree (zypper update first), from the cache", async () => {
    const dry = await sb.bin(["genimage", IMG, "--dryrun"]);
    expect(dry.stdout).toContain("genimage sle15.5-x86_64-netboot-compute (zypper, over a copy of the current tree) would run:");
    expect(dry.stdout).toMatch(/--cache-dir '\S+\/var\/cache\/zypp' update --no-recommends/);
    const r = await sb.bin(["-v", "genimage", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(rpmQa(tree())).toEqual(["sle-a", "sle-b", "sle-kernel"]);
    // the first build's history is still there: this tree is its copy, brought up to the lists again
    // (zypper records no command for an update with nothing to do)
    expect(zypperHistory(tree())).toEqual([
      "install --no-recommends sle-a sle-c sle-kernel",
      "install --no-recommends sle-b",
      "remove sle-c",
      "install --no-recommends sle-a sle-c sle-kernel",
      "remove sle-c",
    ]);
    expect(r.stderr).not.toMatch(/Retrieving package sle-c/); // kept from the first build (keeppackages)
    expect(r.stderr).toMatch(/In cache sle-c-1\.0-1\.noarch\.rpm/);
  }, 300_000);

  test("--dryrun prints the key import and the zypper commands, with the private configuration, and changes nothing", async () => {
    const before = await snapshot();
    const r = await sb.bin(["genimage", IMG, "--dryrun", "--fresh"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("genimage sle15.5-x86_64-netboot-compute (zypper, fresh) would run:");
    expect(r.stdout).toMatch(/rpm --root '\S+' --dbpath \/var\/lib\/rpm --import '\S+\/repodata\/repomd\.xml\.key'/);
    expect(r.stdout).toMatch(/zypper --non-interactive --root '\S+' --config '\S+\/zypper\.conf' --reposd-dir '\S+\/repos\.d' --cache-dir/);
    expect(r.stdout).toContain("'ZYPP_CONF=");
    expect(r.stdout).toContain("install --no-recommends 'sle-b'");
    expect(r.stdout).toContain("remove 'sle-c'");
    expect(r.stdout).not.toContain("--gpg-auto-import-keys");
    expect(r.stdout).not.toContain("--no-gpg-checks");
    expect(await snapshot()).toBe(before);
  }, 120_000);

  test("a package no repository has is named, with the repositories searched, before the tree is touched (66)", async () => {
    write("compute.pkglist", "sle-a\nsle-nope\n#NEW_INSTALL_LIST#\nsle-b\n");
    const before = await snapshot();
    const r = await sb.bin(["genimage", IMG, "--fresh"]);
    expect(r.stderr).toMatch(new RegExp(`package sle-nope is in none of the repositories searched: file://${suse}`));
    expect(r.stderr).toContain("hint:");
    expect(r.code).toBe(66);
    expect(await snapshot()).toBe(before);
    expect(mountsUnder(sb.dir)).toEqual([]);
    write("compute.pkglist", "sle-a\n#INCLUDE:more.pkglist#\n#NEW_INSTALL_LIST#\nsle-b\n");
  }, 300_000);

  test("a repository with no key to verify it is refused (66), unless --insecure", async () => {
    const bare = join(sb.dir, "bare");
    execFileSync("cp", ["-a", suse, bare]);
    execFileSync("rm", [join(bare, "repodata/repomd.xml.key"), join(bare, "repodata/repomd.xml.asc")]);
    const before = await snapshot();
    expect((await sb.bin(["image", "set", IMG, `pkgdir=${bare}`, `otherpkgdir=${bare}`])).code).toBe(0);
    const r = await sb.bin(["genimage", IMG, "--fresh", "--dryrun"]);
    expect(r.code).toBe(0); // --dryrun reads no key
    const refused = await sb.bin(["genimage", IMG, "--fresh"]);
    expect(refused.stderr).toContain(`no signing key (repodata/repomd.xml.key, RPM-GPG-KEY*, gpg-pubkey-*.asc) to verify file://${bare}`);
    expect(refused.code).toBe(66);
    expect((await sb.bin(["image", "set", IMG, `pkgdir=${suse}`, `otherpkgdir=${suse}`])).code).toBe(0);
    expect(await snapshot()).toBe(before);
  }, 300_000);

  test("an index signed by a key the repository does not carry is refused before the tree is touched (65)", async () => {
    const forged = join(sb.dir, "forged");
    execFileSync("cp", ["-a", suse, forged]);
    execFileSync("cp", [join(bad, "RPM-GPG-KEY-xcimg-test"), join(forged, "repodata/repomd.xml.key")]); // another key than the one that signed repomd.xml
    const before = await snapshot();
    expect((await sb.bin(["image", "set", IMG, `pkgdir=${forged}`, `otherpkgdir=${forged}`])).code).toBe(0);
    const r = await sb.bin(["genimage", IMG, "--fresh"]);
    expect(r.stderr).toMatch(new RegExp(`the repository signature could not be verified for file://${forged}.*: .*signed with an unknown key`));
    expect(r.code).toBe(65);
    expect((await sb.bin(["image", "set", IMG, `pkgdir=${suse}`, `otherpkgdir=${suse}`])).code).toBe(0);
    expect(await snapshot()).toBe(before);
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 300_000);

  test("an unsigned or wrongly-signed package is refused (65), the previous tree intact; --insecure lets it through, announced", async () => {
    const IMG2 = "sle15.5-x86_64-netboot-unsigned";
    write("unsigned.pkglist", "sle-unsigned\n");
    write("wrongkey.pkglist", "sle-wrongkey\n");
    const set = await sb.bin([
      "image",
      "set",
      IMG2,
      "osvers=sle15.5",
      "osarch=x86_64",
      "profile=unsigned",
      "provmethod=netboot",
      `pkglist=${join(lists(), "unsigned.pkglist")}`,
      `pkgdir=${bad}`,
    ]);
    expect(set.code).toBe(0);
    const t2 = join(sb.installdir, "netboot/sle15.5/x86_64/unsigned/rootimg");
    const refused = await sb.bin(["genimage", IMG2]);
    expect(refused.stderr).toMatch(/zypper refused a package whose signature does not verify .*File is unsigned/);
    expect(refused.code).toBe(65);
    expect(existsSync(join(sb.installdir, "netboot/sle15.5/x86_64/unsigned"))).toBe(false); // a failed first build leaves nothing
    const insecure = await sb.bin(["genimage", IMG2, "--insecure"]);
    expect(insecure.stderr).toContain("--insecure: packages and repositories of sle15.5-x86_64-netboot-unsigned are NOT verified");
    expect(insecure.code).toBe(0);
    expect(rpmQa(t2)).toEqual(["sle-unsigned"]);
    expect((await sb.bin(["image", "set", IMG2, `pkglist=${join(lists(), "wrongkey.pkglist")}`])).code).toBe(0);
    const listing = spawnSync("find", [t2, "-printf", "%P %s %T@\\n"], { encoding: "utf8" }).stdout;
    const wrong = await sb.bin(["genimage", IMG2, "--fresh"]);
    expect(wrong.stderr).toMatch(/zypper refused a package whose signature does not verify .*(public key is not available|NOKEY)/);
    expect(wrong.code).toBe(65);
    expect(spawnSync("find", [t2, "-printf", "%P %s %T@\\n"], { encoding: "utf8" }).stdout).toBe(listing);
    expect(rpmQa(t2)).toEqual(["sle-unsigned"]);
    expect(mountsUnder(sb.dir)).toEqual([]);
    expect(hostZypp()).toBe(hostBefore);
  }, 300_000);

  test("another architecture: refused without a binfmt handler, before anything is touched; built with one", async () => {
    const other = hostArch() === "aarch64" ? "x86_64" : "aarch64";
    const IMG3 = `sle15.5-${other}-netboot-compute`;
    write("cross.pkglist", "sle-a\n");
    const dir3 = join(sb.installdir, `netboot/sle15.5/${other}`);
    const set = await sb.bin([
      "image",
      "set",
      IMG3,
      "osvers=sle15.5",
      `osarch=${other}`,
      "profile=compute",
      "provmethod=netboot",
      `pkglist=${join(lists(), "cross.pkglist")}`,
      `pkgdir=${suse}`,
    ]);
    expect(set.code).toBe(0);
    const row = (await sb.bin(["image", "show", IMG3])).stdout;
    // without a handler: the real binfmt_misc of a fresh user namespace is empty, whatever this machine has registered
    const none = await inPrivateBinfmt(false, ["genimage", IMG3]);
    expect(none.stderr).toContain(`building a ${other} image on this ${hostArch()} machine needs a binfmt_misc handler for ${other}, and none is registered`);
    expect(none.stderr).toContain("install qemu-user-static and binfmt-support");
    expect(none.code).toBe(78);
    expect(existsSync(dir3)).toBe(false);
    expect(existsSync(join(sb.installdir, `.cache/genimage/zypper/sle15.5-${other}`))).toBe(false);
    expect((await sb.bin(["image", "show", IMG3])).stdout).toBe(row);
    // the same on the machine itself when it has no handler (the usual case: nothing registered)
    if (binfmtHandler(other) === null) expect((await sb.bin(["genimage", IMG3])).code).toBe(78);
    // with qemu's handler registered (in that namespace only): genimage goes on and builds the tree
    const built = await inPrivateBinfmt(true, ["genimage", IMG3]);
    expect(built.stderr).not.toContain("needs a binfmt_misc handler");
    // and that handler is a working one: an aarch64 program (libc6-arm64-cross's loader) runs through it
    if (other === "aarch64") {
      const run = await inPrivateBinfmt(true, ["--version"], "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1");
      expect(run.stdout).toContain("stable release version");
      expect(run.code).toBe(0);
      const without = await inPrivateBinfmt(false, ["--version"], "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1");
      expect(without.stderr).toContain("Exec format error");
    }
    expect(built.code).toBe(0);
    expect(rpmQa(join(dir3, "compute/rootimg"))).toEqual(["sle-a"]);
    expect(readFileSync(join(dir3, "compute/.xcimg-genimage.rootimg/zypper/zypp.conf"), "utf8")).toContain(`arch = ${other}`);
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 300_000);
});
