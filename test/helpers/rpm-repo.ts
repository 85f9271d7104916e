import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * A real RPM repository for genimage's EL backend, made on this Debian machine with Debian's
 * rpmbuild, rpmsign and createrepo_c: tiny noarch packages (one file each, no scriptlets, so
 * they install into an empty tree), signed with a throwaway GnuPG key whose public half is
 * the repository's RPM-GPG-KEY-xcimg-test, as installation media carry theirs.
 */
export interface RpmPackage {
  name: string;
  /** "good": signed with the repository's key; "unsigned"; "wrong": signed with another key. */
  sign: "good" | "unsigned" | "wrong";
  /** Extra files (absolute path → content), e.g. kernels under /boot. */
  files?: Record<string, string>;
  /**
   * A directory packaged whole (binaries, symlinks and modes as they are), e.g. a bootable
   * busybox tree or a kernel with its modules; its top-level entries are the package's %files.
   */
  tree?: string;
}

/**
 * What a package of prebuilt binaries needs from rpmbuild: the files as they are (no strip, no
 * build-id links, no auto-generated requires such as kernel modules' kmod() ones) in a noarch
 * package, and a fast payload compression (the kernel is most of it).
 */
const PREBUILT = [
  "AutoReqProv: no",
  "%define __os_install_post %{nil}",
  "%define _build_id_links none",
  "%define _binaries_in_noarch_packages_terminate_build 0",
  "%define _binary_payload w1.gzdio",
];

/**
 * `keyAt`: where the repository carries its public key — "top" (RPM-GPG-KEY-xcimg-test, as EL
 * media do) or "repomd" (repodata/repomd.xml.key, as SUSE media and OBS repositories do, with the index signed
 * in repodata/repomd.xml.asc).
 */
export function makeRpmRepo(dir: string, pkgs: RpmPackage[], opts: { keyAt?: "top" | "repomd" } = {}): { repo: string; key: string } {
  const gnupg = (which: string) => {
    const home = join(dir, `gnupg-${which}`);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    execFileSync(
      "gpg",
      ["--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", `xcimg ${which} <${which}@xcimg.invalid>`, "ed25519", "sign", "never"],
      { env: { ...process.env, GNUPGHOME: home }, stdio: "ignore" },
    );
    return home;
  };
  const homes = { good: gnupg("good"), wrong: gnupg("wrong") };
  const repo = join(dir, "repo");
  const top = join(dir, "rpmbuild");
  mkdirSync(repo, { recursive: true });
  mkdirSync(join(top, "SPECS"), { recursive: true });
  for (const p of pkgs) {
    const spec = join(top, "SPECS", `${p.name}.spec`);
    writeFileSync(
      spec,
      [
        `Name: ${p.name}`,
        "Version: 1.0",
        "Release: 1",
        "Summary: xcimg genimage test package",
        "License: MIT",
        "BuildArch: noarch",
        ...(p.tree ? PREBUILT : []),
        "%description",
        "test",
        "%install",
        `mkdir -p %{buildroot}/usr/share/xcimg-test`,
        `echo ${p.name} > %{buildroot}/usr/share/xcimg-test/${p.name}`,
        ...Object.entries(p.files ?? {}).flatMap(([f, c]) => [`mkdir -p %{buildroot}$(dirname ${f})`, `echo ${c} > %{buildroot}${f}`]),
        ...(p.tree ? [`cp -a ${p.tree}/. %{buildroot}/`] : []),
        "%files",
        `/usr/share/xcimg-test/${p.name}`,
        ...Object.keys(p.files ?? {}),
        ...(p.tree ? readdirSync(p.tree).map((e) => `/${e}`) : []),
        "",
      ].join("\n"),
    );
    execFileSync("rpmbuild", ["--define", `_topdir ${top}`, "--nodeps", "-bb", spec], { stdio: "ignore" });
    const rpm = join(repo, `${p.name}-1.0-1.noarch.rpm`);
    copyFileSync(join(top, "RPMS", "noarch", `${p.name}-1.0-1.noarch.rpm`), rpm);
    if (p.sign !== "unsigned") {
      const who = p.sign === "good" ? "good" : "wrong";
      execFileSync("rpmsign", ["--define", `_gpg_name xcimg ${who}`, "--define", "__gpg /usr/bin/gpg", "--addsign", rpm], {
        env: { ...process.env, GNUPGHOME: homes[who] },
        stdio: "ignore",
      });
    }
  }
  execFileSync("createrepo_c", ["-q", repo], { stdio: "ignore" });
  const key = opts.keyAt === "repomd" ? join(repo, "repodata", "repomd.xml.key") : join(repo, "RPM-GPG-KEY-xcimg-test");
  writeFileSync(key, execFileSync("gpg", ["--armor", "--export"], { env: { ...process.env, GNUPGHOME: homes.good } }));
  // SUSE media and OBS sign the index too: repomd.xml.asc beside repomd.xml.key
  if (opts.keyAt === "repomd")
    execFileSync("gpg", ["--batch", "--armor", "--detach-sign", "-o", `${join(repo, "repodata", "repomd.xml")}.asc`, join(repo, "repodata", "repomd.xml")], {
      env: { ...process.env, GNUPGHOME: homes.good },
      stdio: "ignore",
    });
  return { repo, key };
}

/** Mount points at or below `dir` in this (the MN's) mount namespace. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/**
 * A tree with this machine's (Debian's) rpm for a node: /usr/bin/rpm, the shared libraries
 * `ldd` lists at the paths it names, and rpm's configuration as an EL rpm has it — rpmrc,
 * popt aliases, the x86_64 platform macros, and the macros file with EL's default
 * `%_dbpath /var/lib/rpm` instead of Debian's ~/.rpmdb (Debian bug #1004863), which also
 * needs a bash the node may not have.
 */
export function nodeRpmTree(dir: string): string {
  const put = (from: string, to = from) => {
    mkdirSync(join(dir, dirname(to)), { recursive: true });
    copyFileSync(from, join(dir, to)); // symlinks followed: the file itself where ldd names it
  };
  put("/usr/bin/rpm");
  const libs = execFileSync("ldd", ["/usr/bin/rpm"], { encoding: "utf8" }).matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g);
  for (const [, lib] of libs) if (lib) put(lib);
  const conf = "/usr/lib/rpm";
  for (const f of readdirSync(conf)) if (f === "rpmrc" || f.startsWith("rpmpopt-")) put(join(conf, f));
  put(join(conf, "platform/x86_64-linux/macros"));
  const macros = readFileSync(join(conf, "macros"), "utf8");
  if (!/^%_dbpath\s.*$/m.test(macros)) throw new Error(`${conf}/macros sets no %_dbpath`);
  writeFileSync(join(dir, conf, "macros"), macros.replace(/^%_dbpath\s.*$/m, "%_dbpath\t\t/var/lib/rpm"));
  mkdirSync(join(dir, "var/lib/rpm"), { recursive: true });
  return dir;
}
