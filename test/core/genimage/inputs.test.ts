import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError } from "../../../src/core/errors";
import { osFamily } from "../../../src/core/genimage/family";
import { profileFile } from "../../../src/core/genimage/lookup";
import { readPkgLists } from "../../../src/core/genimage/pkglist";
import { aptSources, parseDeb822, parseOneLine, rpmRepos, withoutCredentials } from "../../../src/core/genimage/repos";

/** xCAT's genimage inputs, read from real files (imgutils.pm get_package_names, get_profile_def_filename). */
let dir: string;
const w = (rel: string, text: string) => {
  const p = join(dir, rel);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xcimg-genimage-inputs-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pkglist", () => {
  test("comments, includes relative to the including file (nested), passes, #ENV#, -/--, groups, dir/pkg", () => {
    w("lists/sub/common.pkglist", "  # a comment\nbash,coreutils\n#INCLUDE:deeper/net.pkglist#\n");
    w("lists/sub/deeper/net.pkglist", "iproute2   \n\n");
    const top = w(
      "lists/compute.pkglist",
      "#INCLUDE:sub/common.pkglist#\n@core\n#ENV:LANG=C.UTF-8#\n#NEW_INSTALL_LIST#\n#ENV:FOO=a=b#\nxcat/xcat-core/xCATsn vim\n-nano\n--ed\n",
    );
    const l = readPkgLists(top, "pkglist");
    expect(l.passes).toHaveLength(2);
    expect(l.passes[0]).toEqual({ install: ["bash", "coreutils", "iproute2", "@core"], preRemove: [], postRemove: [], env: { LANG: "C.UTF-8" } });
    expect(l.passes[1]).toEqual({ install: ["xCATsn", "vim"], preRemove: ["nano"], postRemove: ["ed"], env: { FOO: "a=b" } });
    expect(l.files).toEqual([top, join(dir, "lists/sub/common.pkglist"), join(dir, "lists/sub/deeper/net.pkglist")]);
  });

  test("a comma list of files is read in order; a missing include names the file and its includer", () => {
    const a = w("two/a.pkglist", "a1\n");
    const b = w("two/b.pkglist", "b1\n#INCLUDE:/nonexistent/x.pkglist#\n");
    expect(() => readPkgLists(`${a},${b}`, "pkglist")).toThrow(NotFoundError);
    expect(() => readPkgLists(`${a},${b}`, "pkglist")).toThrow(/\/nonexistent\/x\.pkglist \(named by #INCLUDE:# in .*b\.pkglist\)/);
    expect(readPkgLists(a, "pkglist").passes[0]?.install).toEqual(["a1"]);
  });

  test("a name that would reach apt or dnf as an option, or an #ENV# that is no variable, is refused", () => {
    expect(() => readPkgLists(w("bad/a.pkglist", "---purge-all\n"), "pkglist")).toThrow(/'-purge-all' in a package list is not a package name/);
    expect(() => readPkgLists(w("bad/b.pkglist", "#ENV:-i=1#\nbash\n"), "pkglist")).toThrow(/is not a variable name/);
  });

  test("an include loop is an error, not a hang", () => {
    const loop = w("loop/a.pkglist", "#INCLUDE:a.pkglist#\n");
    expect(() => readPkgLists(loop, "pkglist")).toThrow(/nest deeper than/);
  });
});

describe("lookup and families", () => {
  test("xCAT's profile file order: osver.arch, osbase.arch, arch, osver, osbase, plain", () => {
    const d = join(dir, "custom/netboot/rh");
    w("custom/netboot/rh/compute.pkglist", "x\n");
    expect(profileFile(d, "rhels9.4", "x86_64", "compute", "pkglist")).toBe(join(d, "compute.pkglist"));
    w("custom/netboot/rh/compute.rhels9.pkglist", "x\n");
    expect(profileFile(d, "rhels9.4", "x86_64", "compute", "pkglist")).toBe(join(d, "compute.rhels9.pkglist"));
    w("custom/netboot/rh/compute.x86_64.pkglist", "x\n");
    expect(profileFile(d, "rhels9.4", "x86_64", "compute", "pkglist")).toBe(join(d, "compute.x86_64.pkglist"));
    w("custom/netboot/rh/compute.rhels9.x86_64.pkglist", "x\n");
    expect(profileFile(d, "rhels9.4", "x86_64", "compute", "pkglist")).toBe(join(d, "compute.rhels9.x86_64.pkglist"));
    w("custom/netboot/rh/compute.rhels9.4.x86_64.pkglist", "x\n");
    expect(profileFile(d, "rhels9.4", "x86_64", "compute", "pkglist")).toBe(join(d, "compute.rhels9.4.x86_64.pkglist"));
    expect(profileFile(d, "rhels9.4", "x86_64", "service", "pkglist")).toBeNull();
  });

  test("osvers → backend, xCAT's netboot directory, suite", () => {
    expect(osFamily("debian12")).toEqual({ backend: "debian", dir: "debian", version: "12", suite: "bookworm" });
    expect(osFamily("ubuntu22.04")).toMatchObject({ backend: "debian", dir: "ubuntu", suite: "jammy" });
    expect(osFamily("rhels9.4")).toMatchObject({ backend: "rpm", dir: "rh", version: "9.4" });
    expect(osFamily("rocky8.10")).toMatchObject({ backend: "rpm", dir: "rocky" });
    expect(() => osFamily("plan9")).toThrow(/no distribution family/);
    // the SUSE names xCAT uses (copycds: sle15.5; leap15.5, opensuse-leap15.5, sles12.5): zypper, custom/netboot/sles
    for (const v of ["sles15.5", "sle15.5", "leap15.5", "opensuse-leap15.5", "sles12.5"])
      expect(osFamily(v)).toMatchObject({ backend: "zypper", dir: "sles", version: v.replace(/^\D+/, "") });
  });
});

describe("repositories", () => {
  test("an RPM pkgdir: the directory, or each subdirectory holding repodata/, with the keys beside them; none is an error", () => {
    w("media/BaseOS/repodata/repomd.xml", "<x/>");
    w("media/AppStream/repodata/repomd.xml", "<x/>");
    w("media/RPM-GPG-KEY-test", "key");
    w("empty/readme", "");
    const r = rpmRepos(`${join(dir, "media")},https://mirror.invalid/el9/`, "pkgdir");
    expect(r.map((x) => x.baseurl)).toEqual([`file://${join(dir, "media/AppStream")}`, `file://${join(dir, "media/BaseOS")}`, "https://mirror.invalid/el9/"]);
    expect(r[0]?.keys).toEqual([join(dir, "media/RPM-GPG-KEY-test")]);
    // SUSE media: each module's repodata/repomd.xml.key and the media's gpg-pubkey-*.asc
    w("sle/1/Module-Basesystem/repodata/repomd.xml", "<x/>");
    w("sle/1/Module-Basesystem/repodata/repomd.xml.key", "key");
    w("sle/1/gpg-pubkey-39db7c82-5f68629b.asc", "key");
    const sle = rpmRepos(join(dir, "sle"), "pkgdir");
    expect(sle.map((x) => x.baseurl)).toEqual([`file://${join(dir, "sle/1/Module-Basesystem")}`]);
    expect(sle[0]?.keys).toEqual([join(dir, "sle/1/Module-Basesystem/repodata/repomd.xml.key"), join(dir, "sle/1/gpg-pubkey-39db7c82-5f68629b.asc")]);
    expect(() => rpmRepos(join(dir, "empty"), "pkgdir")).toThrow(/holds no repository: no repodata/);
    expect(() => rpmRepos(join(dir, "missing"), "pkgdir")).toThrow(/does not exist/);
  });

  test("Debian sources: deb822 and one-line, keyring kept; pkgdir entries with and without a suite", () => {
    const host = parseDeb822(
      "Types: deb\nURIs: http://m.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb-src\nURIs: http://m.invalid/debian\nSuites: bookworm\n",
    );
    expect(host).toEqual([
      { uri: "http://m.invalid/debian", suite: "bookworm", components: ["main", "contrib"], signedBy: "/usr/share/keyrings/k.gpg" },
      { uri: "http://m.invalid/debian", suite: "bookworm-updates", components: ["main", "contrib"], signedBy: "/usr/share/keyrings/k.gpg" },
    ]);
    expect(parseOneLine("deb [arch=amd64 signed-by=/k.gpg] http://o.invalid/ubuntu jammy main universe # c\n# deb http://x y z")).toEqual([
      { uri: "http://o.invalid/ubuntu", suite: "jammy", components: ["main", "universe"], signedBy: "/k.gpg" },
    ]);
    const s = aptSources("http://m.invalid/debian bookworm, http://other.invalid/repo", "bookworm", host);
    expect(s[0]).toMatchObject({ uri: "http://m.invalid/debian", suite: "bookworm", signedBy: "/usr/share/keyrings/k.gpg" });
    expect(s[1]).toMatchObject({ uri: "http://other.invalid/repo", suite: "bookworm", components: ["main"], signedBy: undefined });
    expect(() => aptSources(join(dir, "empty"), "bookworm", [])).toThrow(/no dists\/ directory/);
    expect(withoutCredentials("https://user:pw@m.invalid/debian")).toBe("https://m.invalid/debian");
  });
});
