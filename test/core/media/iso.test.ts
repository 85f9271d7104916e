import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeDebianMedia, fakeRhelMedia, fakeSlesMedia } from "../../helpers/fake-media";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg image media <iso>`: copycds' copy of an ISO into <installdir>/<os>/<arch> and the
 * images it defines (install, and the netboot and statelite samples). The ISOs are real ISO
 * 9660 + Rock Ridge images made in the test with xorriso from the fake media trees; each bad
 * one is refused with its message and installdir left exactly as it was.
 */
const sandboxes: Sandbox[] = [];
afterAll(() => {
  for (const sb of sandboxes) sb.cleanup();
});
function site(name: string): Sandbox {
  const sb = new Sandbox(name);
  sandboxes.push(sb);
  return sb;
}

/** An ISO of `tree` (Rock Ridge, Joliet), as distributions' media are. */
function iso(tree: string, out: string): string {
  execFileSync("xorriso", ["-as", "mkisofs", "-quiet", "-R", "-J", "-V", "XCIMG_TEST", "-o", out, tree], { stdio: "ignore" });
  return out;
}

/** Everything under installdir: what a refused import must leave unchanged. */
const listing = (sb: Sandbox) => spawnSync("find", [sb.installdir, "-printf", "%P %y %m %s\\n"], { encoding: "utf8" }).stdout.split("\n").sort().join("\n");

describe("xcimg image media <iso>", () => {
  test("an EL ISO is copied to <installdir>/<os>/<arch>; install, netboot and statelite images are defined over it", async () => {
    const sb = site("iso-el");
    const file = iso(fakeRhelMedia(join(sb.dir, "rocky"), { name: "Rocky Linux", version: "9.4" }), join(sb.dir, "rocky.iso"));
    const r = await sb.run("--json", "image", "media", file);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const dir = join(sb.installdir, "rocky9.4", "x86_64");
    expect(out.copied).toMatchObject({ iso: file, dir, placed: dir, replaced: false, files: 4 });
    expect(readFileSync(join(dir, "images/pxeboot/vmlinuz"), "utf8")).toBe("EL kernel\n");
    expect(readFileSync(join(dir, ".treeinfo"), "utf8")).toContain("family = Rocky Linux");
    expect(out.image).toBe("rocky9.4-x86_64-install-compute");
    expect(out.attrs.pkgdir).toBe(dir);
    expect(out.samples).toEqual([
      { image: "rocky9.4-x86_64-netboot-compute", created: true },
      { image: "rocky9.4-x86_64-statelite-compute", created: true },
    ]);
    for (const [img, pm] of [
      ["rocky9.4-x86_64-netboot-compute", "netboot"],
      ["rocky9.4-x86_64-statelite-compute", "statelite"],
    ]) {
      const show = (await sb.run("image", "show", img as string)).stdout;
      for (const line of [`provmethod=${pm}`, "osvers=rocky9.4", "osarch=x86_64", "profile=compute", `pkgdir=${dir}`, "osdistroname=rocky9.4-x86_64"])
        expect(show).toContain(`    ${line}\n`);
    }
    // files are root's and readable by the web server; nothing of the staging area is left
    expect(spawnSync("find", [dir, "!", "-user", "root", "-o", "!", "-perm", "-o+r"], { encoding: "utf8" }).stdout).toBe("");
    expect(
      spawnSync("ls", ["-A", sb.installdir], { encoding: "utf8" })
        .stdout.split("\n")
        .filter((n) => n.startsWith(".xcimg-media")),
    ).toEqual([]);
  });

  test("a SUSE ISO goes to <os>/<arch>/1 (xCAT's disc layout), and genimage finds its modules as repositories", async () => {
    const sb = site("iso-sle");
    fakeSlesMedia(join(sb.dir, "sle"));
    const file = iso(join(sb.dir, "sle", "1"), join(sb.dir, "sle.iso"));
    const r = await sb.run("--json", "image", "media", file);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const dir = join(sb.installdir, "sle15.5", "x86_64");
    expect(out.copied).toMatchObject({ dir, placed: join(dir, "1") });
    expect(out.image).toBe("sle15.5-x86_64-install-compute");
    expect(out.samples.map((s: { image: string }) => s.image)).toEqual(["sle15.5-x86_64-netboot-compute", "sle15.5-x86_64-statelite-compute"]);
    expect(existsSync(join(dir, "1/media.1/media"))).toBe(true);
    const dry = await sb.run("genimage", "sle15.5-x86_64-netboot-compute", "--dryrun");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("(zypper, fresh)");
    expect(dry.stdout).toContain(`file://${join(dir, "1/Module-Basesystem")}`);
    expect(dry.stdout).toContain(`file://${join(dir, "1/Product-SLES")}`);
  });

  test("a second ISO replaces the copy in one step; sample images the site already has are left as they are", async () => {
    const sb = site("iso-again");
    const tree = fakeRhelMedia(join(sb.dir, "rhel"));
    writeFileSync(join(tree, "old-only"), "1\n");
    expect((await sb.run("image", "media", iso(tree, join(sb.dir, "a.iso")))).code).toBe(0);
    expect((await sb.run("image", "set", "rhels9.4-x86_64-netboot-compute", "pkglist=/site/compute.pkglist")).code).toBe(0);
    execFileSync("rm", [join(tree, "old-only")]);
    writeFileSync(join(tree, "new-only"), "2\n");
    // what a kill -9 in the middle of an earlier import left (its pid is gone)
    mkdirSync(join(sb.installdir, ".xcimg-media.99999999/half"), { recursive: true });
    const r = await sb.run("--json", "image", "media", iso(tree, join(sb.dir, "b.iso")));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removing ${join(sb.installdir, ".xcimg-media.99999999")}, left by an interrupted image media`);
    const out = JSON.parse(r.stdout);
    expect(out.copied.replaced).toBe(true);
    const dir = join(sb.installdir, "rhels9.4", "x86_64");
    expect(existsSync(join(dir, "new-only"))).toBe(true);
    expect(existsSync(join(dir, "old-only"))).toBe(false);
    expect(out.samples).toEqual([
      { image: "rhels9.4-x86_64-netboot-compute", created: false },
      { image: "rhels9.4-x86_64-statelite-compute", created: false },
    ]);
    expect(r.stderr).toContain("Image rhels9.4-x86_64-netboot-compute exists; left as it is.");
    expect((await sb.run("image", "show", "rhels9.4-x86_64-netboot-compute")).stdout).toContain("pkglist=/site/compute.pkglist");
    expect(spawnSync("ls", ["-A", sb.installdir], { encoding: "utf8" }).stdout).not.toContain(".xcimg-media");
  });

  test("refused with a clear message, nothing written: not an ISO, truncated, damaged, unknown distribution, hostile entries, wrong -a", async () => {
    const sb = site("iso-bad");
    const good = iso(fakeRhelMedia(join(sb.dir, "rhel")), join(sb.dir, "good.iso"));
    const bytes = readFileSync(good);
    const junk = join(sb.dir, "junk.iso");
    writeFileSync(junk, Buffer.alloc(100_000, 0x5a));
    const truncated = join(sb.dir, "truncated.iso");
    writeFileSync(truncated, bytes.subarray(0, 40_000));
    const damaged = join(sb.dir, "damaged.iso");
    const d = Buffer.from(bytes);
    d.fill(0xff, 19 * 2048, 40 * 2048); // the path table and root directory records
    writeFileSync(damaged, d);
    mkdirSync(join(sb.dir, "plain/docs"), { recursive: true });
    writeFileSync(join(sb.dir, "plain/docs/readme"), "not a distribution\n");
    const unknown = iso(join(sb.dir, "plain"), join(sb.dir, "unknown.iso"));
    const leaky = fakeRhelMedia(join(sb.dir, "leaky"));
    symlinkSync("/etc/shadow", join(leaky, "shadow"));
    const leak = iso(leaky, join(sb.dir, "leak.iso"));
    const devs = fakeRhelMedia(join(sb.dir, "devs"));
    execFileSync("mknod", [join(devs, "null"), "c", "1", "3"]);
    const dev = iso(devs, join(sb.dir, "dev.iso"));
    const deb = iso(fakeDebianMedia(join(sb.dir, "deb")), join(sb.dir, "deb.iso"));

    const cases: [string, string[], number, RegExp][] = [
      ["not an ISO", [junk], 65, /junk\.iso is not an ISO 9660 image: it has no CD001 volume descriptor at sector 16/],
      ["truncated", [truncated], 65, /truncated\.iso is truncated: 40000 bytes of the \d+ its volume descriptor declares/],
      ["damaged", [damaged], 65, /cannot read \S+damaged\.iso as an ISO 9660 image: bsdtar: /],
      ["unknown distribution", [unknown], 65, /cannot tell which distribution \S+unknown\.iso is: no usable \.treeinfo/],
      ["a symlink out of the media", [leak], 65, /leak\.iso has a symlink leading out of the media: \/shadow -> \/etc\/shadow/],
      ["a device node", [dev], 65, /dev\.iso holds a device node, FIFO or socket \(\/null\)/],
      ["a wrong -a", [deb, "-a", "ppc64le"], 65, /Requested distribution architecture ppc64le, but media is x86_64/],
      ["a missing file", [join(sb.dir, "nothere.iso")], 66, /nothere\.iso does not exist/],
    ];
    const before = listing(sb);
    for (const [what, argv, code, message] of cases) {
      const r = await sb.run("image", "media", ...argv);
      expect(`${what}: ${r.stderr}`).toMatch(message);
      expect(`${what}: ${r.code}`).toBe(`${what}: ${code}`);
      expect(listing(sb)).toBe(before);
    }
    expect((await sb.run("image", "list")).stdout).toBe("");
  });

  test("a media directory under installdir still works without copying; -o defines only the image it names", async () => {
    const sb = site("iso-dir");
    const dir = fakeDebianMedia(join(sb.installdir, "debian12.5.0", "x86_64"));
    const named = await sb.run("--json", "image", "media", dir, "-o", "deb-install");
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout).samples).toEqual([]);
    expect(JSON.parse(named.stdout).copied).toBeUndefined();
    const r = await sb.run("--json", "image", "media", dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).samples.map((s: { image: string }) => s.image)).toEqual([
      "debian12.5.0-x86_64-netboot-compute",
      "debian12.5.0-x86_64-statelite-compute",
    ]);
  });
});
