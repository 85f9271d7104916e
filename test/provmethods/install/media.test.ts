import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectMedia } from "../../../src/core/media/detect";
import { fakeDebianMedia, fakeRhelMedia, fakeSlesMedia } from "../../helpers/fake-media";
import { BIN, Sandbox } from "../../helpers/sandbox";

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe("media detection (what copycds reads)", () => {
  test("RHEL-like .treeinfo / .discinfo, SLES media.1, Debian .disk/info and dists/*/Release", () => {
    sb = new Sandbox("detect");
    const d = (n: string) => join(sb.dir, n);
    expect(detectMedia(fakeRhelMedia(d("rhel")))).toEqual({ osvers: "rhels9.4", arch: "x86_64", evidence: ".treeinfo" });
    expect(detectMedia(fakeRhelMedia(d("rocky"), { name: "Rocky Linux", version: "9.4" })).osvers).toBe("rocky9.4");
    expect(detectMedia(fakeRhelMedia(d("alma"), { name: "AlmaLinux", version: "8.10", arch: "aarch64" }))).toMatchObject({
      osvers: "alma8.10",
      arch: "aarch64",
    });
    mkdirSync(d("disc"));
    writeFileSync(join(d("disc"), ".discinfo"), "1714000000.0\nCentOS Stream 9\nx86_64\n");
    expect(detectMedia(d("disc"))).toEqual({ osvers: "centos-stream9", arch: "x86_64", evidence: ".discinfo" });
    expect(detectMedia(fakeSlesMedia(d("sles")))).toEqual({ osvers: "sle15.5", arch: "x86_64", evidence: "1/media.1/media" });
    expect(detectMedia(fakeDebianMedia(d("deb")))).toEqual({ osvers: "debian12.5.0", arch: "x86_64", evidence: ".disk/info" });
    mkdirSync(join(d("mirror"), "dists", "jammy"), { recursive: true });
    writeFileSync(join(d("mirror"), "dists", "jammy", "Release"), "Origin: Ubuntu\nVersion: 22.04\nArchitectures: amd64\n");
    expect(detectMedia(d("mirror"))).toEqual({ osvers: "ubuntu22.04", arch: "x86_64", evidence: "dists/jammy/Release" });
  });

  test("unknown media says which files it looked for", () => {
    sb = new Sandbox("detect2");
    mkdirSync(join(sb.dir, "empty"));
    expect(() => detectMedia(join(sb.dir, "empty"))).toThrow(
      /cannot tell which distribution the media in .*empty is: no usable \.treeinfo, \.discinfo, media\.1\/media, content, \.disk\/info or dists\/\*\/Release/,
    );
    expect(() => detectMedia(join(sb.dir, "nothere"))).toThrow(/does not exist/);
  });
});

describe("xcimg image media", () => {
  test("defines <os>-<arch>-install-compute over media already in installdir and writes the default template once", async () => {
    sb = new Sandbox("media");
    const dir = fakeRhelMedia(join(sb.installdir, "rhels9.4", "x86_64"));
    const r = await sb.run("--json", "image", "media", dir);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.image).toBe("rhels9.4-x86_64-install-compute");
    const tmpl = join(sb.installdir, "custom", "install", "rh", "compute.tmpl");
    expect(out.attrs).toEqual({
      provmethod: "install",
      profile: "compute",
      osvers: "rhels9.4",
      osarch: "x86_64",
      osname: "Linux",
      imagetype: "linux",
      osdistroname: "rhels9.4-x86_64",
      template: tmpl,
      pkgdir: dir,
      pkglist: join(sb.installdir, "custom", "install", "rh", "compute.pkglist"),
    });
    expect(readFileSync(tmpl, "utf8")).toContain("#KICKSTARTNET#");
    // the site's edits survive a second run, and the image keeps pointing at them
    writeFileSync(tmpl, "# site kickstart\n");
    const again = await sb.run("image", "media", dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("Changed image rhels9.4-x86_64-install-compute.");
    expect(readFileSync(tmpl, "utf8")).toBe("# site kickstart\n");
    const show = await sb.run("image", "show", "rhels9.4-x86_64-install-compute");
    expect(show.stdout).toContain(`    template=${tmpl}`);
  });

  test("a profile-specific custom template is found the way xCAT searches (profile.os.arch, shorter os versions, profile)", async () => {
    sb = new Sandbox("media2");
    const dir = fakeRhelMedia(join(sb.installdir, "rocky9.4", "x86_64"), { name: "Rocky Linux" });
    const custom = join(sb.installdir, "custom", "install", "rocky");
    mkdirSync(custom, { recursive: true });
    writeFileSync(join(custom, "hpc.rocky9.tmpl"), "# hpc\n");
    writeFileSync(join(custom, "hpc.tmpl"), "# generic hpc\n");
    const r = await sb.run("--json", "image", "media", dir, "-p", "hpc");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).attrs.template).toBe(join(custom, "hpc.rocky9.tmpl"));
    const none = await sb.run("image", "media", dir, "-p", "storage");
    expect(none.code).toBe(65);
    expect(none.stderr).toContain(`No rocky install template exists for storage in ${custom}`);
  });

  test("refuses media outside installdir, a wrong -a, and undetectable media without -n/-a", async () => {
    sb = new Sandbox("media3");
    const outside = fakeRhelMedia(join(sb.dir, "elsewhere"));
    const r1 = await sb.run("image", "media", outside);
    expect(r1.code).toBe(64);
    expect(r1.stderr).toContain(`is not inside installdir ${sb.installdir}`);
    const dir = fakeRhelMedia(join(sb.installdir, "rhels9.4", "x86_64"));
    const r2 = await sb.run("image", "media", dir, "-a", "ppc64le");
    expect(r2.code).toBe(65);
    expect(r2.stderr).toContain("Requested distribution architecture ppc64le, but media is x86_64");
    const bare = join(sb.installdir, "mystery", "x86_64");
    mkdirSync(bare, { recursive: true });
    expect((await sb.run("image", "media", bare)).stderr).toContain("name it yourself with -n <osvers> -a <arch>");
    const named = await sb.run("image", "media", bare, "-n", "rhels9.4", "-a", "x86_64", "-o", "mystery");
    expect(named.code).toBe(0);
    const missing = await sb.run("image", "media", join(sb.installdir, "rhels8.10", "x86_64"), "-n", "rhels8.10", "-a", "x86_64");
    expect(missing.stderr).toContain("This image requires that you first copy media for rhels8.10-x86_64");
    expect(existsSync(join(sb.installdir, "custom", "install", "rh", "compute.tmpl"))).toBe(true);
  });
});

describe("the compiled binary carries the built-in templates", () => {
  test("xcimg image media in dist/xcimg writes the built-in kickstart, AutoYaST and preseed templates", async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
    sb = new Sandbox("media-bin");
    const trees = [
      [fakeRhelMedia(join(sb.installdir, "rhels9.4", "x86_64")), "rh", "%packages"],
      [fakeSlesMedia(join(sb.installdir, "sle15.5", "x86_64")), "sles", "<profile xmlns="],
      [fakeDebianMedia(join(sb.installdir, "debian12.5.0", "x86_64")), "debian", "d-i passwd/root-password-crypted password"],
    ] as const;
    for (const [dir, platform, marker] of trees) {
      const r = await sb.bin(["image", "media", dir], { cwd: "/" });
      expect(r.code).toBe(0);
      expect(readFileSync(join(sb.installdir, "custom", "install", platform, "compute.tmpl"), "utf8")).toContain(marker);
    }
  });
});
