import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountsUnder } from "../helpers/rpm-repo";
import { BIN, ROOT, Sandbox } from "../helpers/sandbox";

/**
 * genimage's Debian backend through the compiled binary, from the Debian mirror this machine's
 * apt uses (the only one it may reach), verified with the archive keyring: mmdebstrap for the
 * first transaction, apt-get chrooted for the rest, an otherpkglist and a postinstall with
 * arguments; the tree is a node's, not this MN's; pack works on it; kill -9 mid-build leaves
 * no mount and the previous tree; the rebuild with unchanged lists downloads no package.
 * The package cache is kept in .cache/genimage-test (gitignored) so reruns download nothing.
 */
let sb: Sandbox;
const IMG = "debian12-x86_64-netboot-compute";
const rootimgdir = () => join(sb.installdir, "netboot/debian12/x86_64/compute");
const tree = () => join(rootimgdir(), "rootimg");
const lists = () => join(sb.dir, "lists");
const installed = (t: string) =>
  execFileSync("dpkg-query", ["-W", `--admindir=${join(t, "var/lib/dpkg")}`, "-f", "\u0024{Package}\\n"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
const snapshot = () =>
  spawnSync("find", [rootimgdir(), "-path", "*/.xcimg-genimage.rootimg", "-prune", "-o", "-printf", "%P %m %s %T@\\n"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  })
    .stdout.split("\n")
    .sort()
    .join("\n");

beforeAll(() => {
  sb = new Sandbox("genimage-debian");
  const cache = join(ROOT, ".cache", "genimage-test");
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  symlinkSync(cache, join(sb.installdir, ".cache"));
  mkdirSync(lists(), { recursive: true });
  writeFileSync(join(lists(), "compute.pkglist"), "# small on purpose\n#INCLUDE:base.pkglist#\n#NEW_INSTALL_LIST#\nless\n");
  writeFileSync(join(lists(), "base.pkglist"), "hostname\n");
  writeFileSync(join(lists(), "other.pkglist"), "openssh-server\n");
  writeFileSync(
    join(lists(), "post.sh"),
    '#!/bin/sh\nset -e\nprintf "%s|" "$@" > "$1/etc/xcimg-postinstall"\necho "$IMG_NAME $IMG_OSVER" >> "$1/etc/xcimg-postinstall"\ntest -r "$1/proc/self/status"\n',
    { mode: 0o755 },
  );
});

afterAll(() => {
  for (const m of mountsUnder(sb.dir).reverse()) spawnSync("umount", ["-l", m]);
  sb.cleanup();
});

describe("genimage, Debian (mmdebstrap)", () => {
  test("builds a node's tree: includes, two transactions, otherpkglist, postinstall with arguments", async () => {
    const set = await sb.bin([
      "image",
      "set",
      IMG,
      "osvers=debian12",
      "osarch=x86_64",
      "profile=compute",
      "provmethod=netboot",
      `pkglist=${join(lists(), "compute.pkglist")}`,
      `otherpkglist=${join(lists(), "other.pkglist")}`,
      `postinstall=${join(lists(), "post.sh")} first second`,
    ]);
    expect(set.code).toBe(0);
    const r = await sb.bin(["genimage", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    const pkgs = installed(tree());
    for (const p of ["hostname", "less", "openssh-server", "apt", "dpkg"]) expect(pkgs).toContain(p);
    expect(readFileSync(join(tree(), "etc/xcimg-postinstall"), "utf8")).toMatch(
      /staging\.\d+\|debian12\|x86_64\|compute\|first\|second\|debian12-x86_64-netboot-compute debian12\n$/,
    );
    // a node, not this MN: no host keys (openssh-server's postinst made some), empty machine-id,
    // no copied resolver, hostname or apt credentials, a tmpfs-root fstab, no package files left
    expect(readdirSync(join(tree(), "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))).toEqual([]);
    expect(readFileSync(join(tree(), "etc/machine-id"), "utf8")).toBe("");
    expect(existsSync(join(tree(), "etc/resolv.conf"))).toBe(false);
    expect(existsSync(join(tree(), "etc/hostname"))).toBe(false);
    expect(existsSync(join(tree(), "etc/apt/auth.conf"))).toBe(false);
    expect(readFileSync(join(tree(), "etc/apt/sources.list"), "utf8")).toMatch(/^deb http\S+ bookworm main\n$/);
    expect(readFileSync(join(tree(), "etc/fstab"), "utf8")).toContain("tmpfs   /dev/shm");
    expect(readdirSync(join(tree(), "var/cache/apt/archives")).filter((f) => f.endsWith(".deb"))).toEqual([]);
    expect(statSync(tree()).mode & 0o7777).toBe(0o700);
    const rec = JSON.parse(readFileSync(join(rootimgdir(), "genimage.json"), "utf8"));
    expect(rec.backend).toBe("debian");
    expect(rec.packages.find((p: { name: string }) => p.name === "less").version).toMatch(/^\d/);
    expect(rec.packages).toHaveLength(pkgs.length);
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 900_000);

  test("xcimg pack works on it", async () => {
    const r = await sb.bin(["pack", IMG]);
    expect(r.code).toBe(0);
    expect(statSync(join(rootimgdir(), "rootimg.cpio.gz")).size).toBeGreaterThan(1 << 20);
  }, 300_000);

  test("a package the mirror does not have is named with the mirror, before the tree is touched (66)", async () => {
    writeFileSync(join(lists(), "base.pkglist"), "hostname\nxcimg-no-such-package\n");
    const before = snapshot();
    const r = await sb.bin(["genimage", IMG, "--fresh"]);
    expect(r.stderr).toMatch(/package xcimg-no-such-package is in none of the repositories searched: http\S+ bookworm/);
    expect(r.code).toBe(66);
    expect(snapshot()).toBe(before);
    writeFileSync(join(lists(), "base.pkglist"), "hostname\n");
  }, 300_000);

  test("kill -9 mid-build: no mount remains, the previous tree is intact; the next run succeeds without downloading a package", async () => {
    const before = snapshot();
    const work = join(rootimgdir(), ".xcimg-genimage.rootimg");
    const proc = Bun.spawn([BIN, "genimage", IMG, "--fresh"], { env: sb.env as Record<string, string>, stdout: "ignore", stderr: "ignore" });
    // wait until mmdebstrap is unpacking into the staging tree (its proc/dev/cache mounts are up)
    const deadline = Date.now() + 300_000;
    const staging = () => readdirSync(work).find((n) => n.startsWith("staging."));
    while (Date.now() < deadline) {
      const s = staging();
      if (s && existsSync(join(work, s, "var/lib/dpkg/status"))) break;
      await Bun.sleep(200);
    }
    expect(staging()).toBeDefined();
    proc.kill(9);
    await proc.exited;
    await Bun.sleep(1000);
    expect(mountsUnder(sb.dir)).toEqual([]);
    expect(spawnSync("pgrep", ["-f", join(work, staging() as string)]).status).toBe(1);
    expect(snapshot()).toBe(before);

    const r = await sb.bin(["-v", "genimage", IMG, "--fresh"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("left by an interrupted genimage");
    // every .deb came from the cache under installdir: apt fetched only the indices
    expect(r.stderr.split("\n").filter((l) => /Get:\d+ .*\.(deb|[a-z0-9]+ \S+ \S+ \[)/.test(l) && !/InRelease|Packages|Translation/.test(l))).toEqual([]);
    expect(installed(tree())).toContain("openssh-server");
    expect(readdirSync(work).some((n) => n.startsWith("staging."))).toBe(false);
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 900_000);
});
