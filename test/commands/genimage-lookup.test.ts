import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../helpers/sandbox";

/**
 * Without linuximage.pkglist genimage looks where xCAT's does: <installdir>/custom/netboot/<family>/
 * (xCAT's profile-file order), then the list built into the binary. --dryrun shows the result
 * and creates nothing: no image directory, no row, no lock, no cache.
 */
let sb: Sandbox;
beforeAll(() => {
  sb = new Sandbox("genimage-lookup");
  mkdirSync(join(sb.installdir, "rhels9.4/x86_64/repodata"), { recursive: true });
});
afterAll(() => sb.cleanup());

describe("genimage package list lookup (--dryrun)", () => {
  test("Debian 12: the built-in compute list, from this machine's apt mirror, verified with the archive keyring", async () => {
    const r = await sb.bin(["genimage", "-o", "debian12", "-p", "compute", "--dryrun"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("genimage debian12-x86_64-netboot-compute (debian, fresh) would run:");
    expect(r.stdout).toMatch(/--include=systemd-sysv,udev,kmod,linux-image-amd64,/);
    expect(r.stdout).toMatch(/signed-by=\S+\.gpg\] \S+ bookworm main/);
    expect(existsSync(join(sb.installdir, "netboot"))).toBe(false);
    expect(existsSync(join(sb.installdir, ".cache"))).toBe(false);
    expect((await sb.bin(["image", "list"])).stdout).not.toContain("debian12");
  });

  test("EL: the built-in list, then the site's custom/netboot/rh list, which wins", async () => {
    const builtin = await sb.bin(["genimage", "-o", "rhels9.4", "--dryrun"]);
    expect(builtin.code).toBe(0);
    expect(builtin.stdout).toContain("install 'bash' 'systemd' 'kernel'");
    expect(builtin.stdout).toContain(`repositories: file://${join(sb.installdir, "rhels9.4/x86_64")}`); // xCAT's default pkgdir
    const custom = join(sb.installdir, "custom/netboot/rh");
    mkdirSync(custom, { recursive: true });
    writeFileSync(join(custom, "compute.rhels9.pkglist"), "site-pkg\n");
    const r = await sb.bin(["genimage", "-o", "rhels9.4", "--dryrun"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("install 'site-pkg'");
    expect(r.stdout).toMatch(new RegExp(`and set .*pkglist=${join(custom, "compute.rhels9.pkglist")} on rhels9.4-x86_64-netboot-compute`));
  });

  test("SLES 15: the built-in compute list through zypper, then the site's custom/netboot/sles list, which wins", async () => {
    mkdirSync(join(sb.installdir, "sle15.5/x86_64/1/Module-Basesystem/repodata"), { recursive: true });
    writeFileSync(join(sb.installdir, "sle15.5/x86_64/1/Module-Basesystem/repodata/repomd.xml.key"), "key\n");
    const builtin = await sb.bin(["genimage", "-o", "sle15.5", "--dryrun"]);
    expect(builtin.stderr).toBe("");
    expect(builtin.code).toBe(0);
    expect(builtin.stdout).toContain("genimage sle15.5-x86_64-netboot-compute (zypper, fresh) would run:");
    expect(builtin.stdout).toContain("install --no-recommends 'aaa_base' 'bash' 'coreutils' 'udev' 'kernel-default'");
    expect(builtin.stdout).toContain(`repositories: file://${join(sb.installdir, "sle15.5/x86_64/1/Module-Basesystem")}`); // xCAT's default pkgdir, media's module
    const custom = join(sb.installdir, "custom/netboot/sles");
    mkdirSync(custom, { recursive: true });
    writeFileSync(join(custom, "compute.sle15.pkglist"), "site-sle-pkg\n");
    const r = await sb.bin(["genimage", "-o", "sle15.5", "--dryrun"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("install --no-recommends 'site-sle-pkg'");
    expect(r.stdout).toMatch(new RegExp(`and set .*pkglist=${join(custom, "compute.sle15.pkglist")} on sle15.5-x86_64-netboot-compute`));
    expect(existsSync(join(sb.installdir, "netboot/sle15.5"))).toBe(false);
  });

  test("--insecure is announced; an image that does not exist without -o is 66", async () => {
    const r = await sb.bin(["genimage", "-o", "debian12", "--dryrun", "--insecure"]);
    expect(r.stderr).toContain("--insecure: packages and repositories of debian12-x86_64-netboot-compute are NOT verified");
    expect(r.stdout).toContain("[trusted=yes]");
    const missing = await sb.bin(["genimage", "nosuch"]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain("Cannot find image 'nosuch'");
  });
});
