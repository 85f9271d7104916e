import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError, NotFoundError } from "../errors";
import { exists } from "../fs/predicates";
import type { Logger } from "../log";
import { mountTreeLines, runIsolated, sq, stepFailed } from "./isolate";
import { finalizeCommon } from "./node-tree";
import type { Pass } from "./pkglist";
import type { Backend, BuildPlan } from "./plan";
import { type RpmRepo, rpmRepos } from "./repos";
import { missingMessage, privateRpmHome, treePackages } from "./rpmdb";

/**
 * SLES / openSUSE Leap images with `zypper --root`, which runs on this Debian MN (Debian's
 * zypper 1.14 and libzypp). xCAT's sles/genimage runs `zypper -R <rootimg>` with
 * --no-gpg-checks --gpg-auto-import-keys: every key offered is trusted, no signature checked
 * (docs/genimage.md). Here zypper reads only a private configuration, never the MN's /etc/zypp
 * nor the tree's:
 *   ZYPP_CONF=<work>/zypp.conf        libzypp's settings: the image's arch, gpgcheck on
 *   --config <work>/zypper.conf       zypper's own (empty: none of the MN's defaults)
 *   --reposd-dir <work>/repos.d       the repositories of pkgdir/otherpkgdir only
 *   --cache-dir <tree>/var/cache/zypp the genimage cache, bind-mounted there in the namespace.
 *       The path is given inside the tree on purpose: libzypp prefixes its @System solv cache
 *       with --root but not the repositories' caches, unless the path already starts with the
 *       root (Pathname::assertprefix), so this one path sends both to the same bind mount and
 *       nothing to the MN's /var/cache/zypp
 *   ZYPP_LOCKFILE_ROOT=<tree>         zypp.pid in the tree's /run (a tmpfs of the namespace),
 *       not the MN's /run/zypp.pid, so a zypper on the MN and a build do not block each other
 *   ZYPP_LOGFILE=<work>/zypper.log    not the MN's /var/log/zypper.log
 * Trust: the repositories' keys (repomd.xml.key, RPM-GPG-KEY*, gpg-pubkey-*.asc, repos.ts) are
 * imported into the tree's rpm database before zypper runs, which libzypp trusts; no key is
 * ever imported on zypper's say-so. A package signed by another key, or unsigned, makes zypper
 * abort (its non-interactive answer to "Abort, retry, ignore?"). --insecure: gpgcheck off and
 * --no-gpg-checks, said on stderr by genimage.ts.
 */
/**
 * Is the repository's index signed (repodata/repomd.xml.asc)? Then zypper verifies it. A local
 * one without (createrepo_c's default) is accepted, its packages still verified one by one, as
 * the dnf backend's repo_gpgcheck=0; a remote one must be signed (SUSE's and OBS's are).
 */
function signedIndex(r: RpmRepo): boolean {
  return !r.baseurl.startsWith("file://") || exists(join(r.baseurl.slice(7), "repodata", "repomd.xml.asc"));
}

/**
 * The repository's alias, which names its directories in the shared cache: with the URL's
 * digest, so two images whose pkgdir1 are different repositories never share (or trust) one
 * cached index — zypper only compares repomd.xml with what it cached under that alias.
 */
function alias(r: RpmRepo): string {
  return `${r.id}-${createHash("sha256").update(r.baseurl).digest("hex").slice(0, 12)}`;
}

export function zypperBackend(plan: BuildPlan, log: Logger, signal: AbortSignal): Backend {
  if (!plan.pkgdir.trim())
    throw new DataError(`image ${plan.image.name} has no pkgdir`, { hint: "set pkgdir to the media's directory (xcimg image media) or a repository URL" });
  const repos: RpmRepo[] = [...rpmRepos(plan.pkgdir, "pkgdir"), ...(plan.otherpkgdir.trim() ? rpmRepos(plan.otherpkgdir, "otherpkgdir") : [])];
  const work = join(plan.work, "zypper");
  const home = join(work, "home");
  const cache = join(plan.cache, "zypp");
  const keys = [...new Set(repos.flatMap((r) => r.keys))];
  const passes = plan.pkglist.passes;
  const otherPasses = plan.otherpkglist?.passes ?? [];
  const where = () => repos.map((r) => r.baseurl).join(", ");
  const envFor = (root: string, passEnv: Record<string, string>) => ({
    ...plan.environ,
    ...passEnv,
    HOME: home,
    ZYPP_CONF: join(work, "zypp.conf"),
    ZYPP_LOGFILE: join(work, "zypper.log"),
    ZYPP_LOCKFILE_ROOT: root,
  });

  function writeConfig(): void {
    if (!plan.insecure && repos.some((r) => !r.keys.length)) {
      const bare = repos.filter((r) => !r.keys.length).map((r) => r.baseurl);
      throw new NotFoundError(`no signing key (repodata/repomd.xml.key, RPM-GPG-KEY*, gpg-pubkey-*.asc) to verify ${bare.join(", ")}`, {
        hint: "put the repository's public key beside it (repodata/repomd.xml.key or RPM-GPG-KEY-...), or --insecure to build without verifying (not recommended)",
      });
    }
    mkdirSync(join(work, "repos.d"), { recursive: true });
    mkdirSync(cache, { recursive: true });
    privateRpmHome(home);
    const on = plan.insecure ? "off" : "on";
    writeFileSync(
      join(work, "zypp.conf"),
      [
        "[main]",
        `arch = ${plan.arch}`,
        `gpgcheck = ${on}`,
        `pkg_gpgcheck = ${on}`,
        // per repository below: its repomd.xml is verified when it is signed (SUSE media's are)
        "repo_gpgcheck = off",
        "solver.onlyRequires = true",
        "download.use_deltarpm = false",
        "",
      ].join("\n"),
    );
    writeFileSync(join(work, "zypper.conf"), "[main]\n");
    writeFileSync(
      join(work, "repos.d", "xcimg.repo"),
      repos
        .map((r) =>
          [
            `[${alias(r)}]`,
            `name=${alias(r)}`,
            `baseurl=${r.baseurl}`,
            "enabled=1",
            "autorefresh=1",
            // downloads stay in the genimage cache: a rebuild with unchanged lists fetches no package
            "keeppackages=1",
            // no gpgkey=: a key zypper found there would be offered for import; the keys are in the rpmdb already
            `gpgcheck=${plan.insecure ? 0 : 1}`,
            `pkg_gpgcheck=${plan.insecure ? 0 : 1}`,
            `repo_gpgcheck=${plan.insecure || !signedIndex(r) ? 0 : 1}`,
            "",
          ].join("\n"),
        )
        .join("\n"),
    );
  }

  const env = (root: string, passEnv: Record<string, string>) =>
    `env ${Object.entries(envFor(root, passEnv))
      .map(([k, v]) => sq(`${k}=${v}`))
      .join(" ")}`;
  const zypper = (root: string, passEnv: Record<string, string>, args: string) =>
    `${env(root, passEnv)} zypper --non-interactive${plan.insecure ? " --no-gpg-checks" : ""} --root ${sq(root)} --config ${sq(join(work, "zypper.conf"))} --reposd-dir ${sq(join(work, "repos.d"))} --cache-dir ${sq(`${root}/var/cache/zypp`)} ${args}`;
  // zypper's 100-103 are "done, and: updates/patches/reboot/restart needed" (zypper(8) EXIT CODES)
  const ok = (cmd: string) => `${cmd} || { rc=$?; [ "$rc" -ge 100 ] && [ "$rc" -le 103 ] || exit "$rc"; }`;
  const names = (p: Pass) => p.install.map(sq).join(" ");
  const importKeys = (root: string) =>
    plan.insecure || !keys.length ? [] : [`${env(root, {})} rpm --root ${sq(root)} --dbpath /var/lib/rpm --import ${keys.map(sq).join(" ")}`];
  /** A tree zypper can run on: the rpmdb directory, the cache bind-mounted, zypp.pid's /run. */
  const prepareRoot = (root: string) => [
    `mkdir -p ${sq(root)}/var/cache/zypp ${sq(root)}/var/lib/rpm ${sq(root)}/run`,
    `mount --bind ${sq(cache)} ${sq(root)}/var/cache/zypp`,
    ...importKeys(root),
    ok(zypper(root, {}, "refresh")),
  ];

  function steps(): string[] {
    const T = plan.staging;
    const out: string[] = [];
    if (!plan.fresh && !plan.noupdate) out.push(ok(zypper(T, {}, "update --no-recommends")));
    for (const p of passes) if (p.install.length) out.push(ok(zypper(T, p.env, `install --no-recommends ${names(p)}`)));
    const pre = [...passes, ...otherPasses].flatMap((p) => p.preRemove);
    if (pre.length) out.push(ok(zypper(T, {}, `remove ${pre.map(sq).join(" ")}`)));
    for (const p of otherPasses) if (p.install.length) out.push(ok(zypper(T, p.env, `install --no-recommends ${names(p)}`)));
    const post = [...passes, ...otherPasses].flatMap((p) => p.postRemove);
    if (post.length) out.push(ok(zypper(T, {}, `remove ${post.map(sq).join(" ")}`)));
    return out;
  }

  return {
    sources: () => repos.map((r) => r.baseurl),
    describe: () => [plan.fresh ? `mkdir ${plan.staging}` : `copy ${plan.tree} to ${plan.staging}`, ...importKeys(plan.staging), ...steps()],
    async precheck() {
      writeConfig();
      const probe = join(work, "probe-root");
      rmSync(probe, { recursive: true, force: true });
      const all = [...new Set([...passes, ...otherPasses].flatMap((p) => p.install))];
      const script = [
        // an empty root on a tmpfs of the namespace: gone with it, whatever happens
        `mkdir -p ${sq(probe)}`,
        `mount -t tmpfs -o mode=0755 tmpfs ${sq(probe)}`,
        ...prepareRoot(probe),
        `${zypper(probe, {}, `install --dry-run --no-recommends ${all.map(sq).join(" ")}`)} || echo "xcimg-rc=$?"`,
      ].join("\n");
      const r = await runIsolated(script, { log, signal, label: "zypper precheck" });
      rmSync(probe, { recursive: true, force: true });
      const text = r.tail.join("\n");
      const missing = [...text.matchAll(/No provider of '([^']+)' found/g)].map((m) => m[1] as string);
      if (missing.length) {
        throw new NotFoundError(missingMessage(missing, where()), {
          hint: "fix the name in the pkglist/otherpkglist, or add the repository that has it to pkgdir/otherpkgdir",
        });
      }
      if (/Signature verification failed|not signed|File '.*repomd\.xml' is signed|unknown key|Key .* not trusted/i.test(text)) {
        const why = r.tail.filter((l) => /signed with an unknown key|Signature verification failed|is unsigned|not signed/i.test(l)).map((l) => l.trim());
        throw new DataError(`the repository signature could not be verified for ${where()}: ${[...new Set(why)].slice(0, 3).join(" | ")}`, {
          hint: "put the repository's own key beside it (repodata/repomd.xml.key), or --insecure for test repositories (not recommended)",
        });
      }
      if (r.code !== 0 || /xcimg-rc=/.test(text)) throw stepFailed(`zypper resolving the package lists from ${where()}`, r.tail, plan.rootimgdir);
    },
    async build() {
      const T = plan.staging;
      log.info(`Installing ${plan.osvers} ${plan.arch} from ${where()} (zypper --root)...`);
      const script = [`T=${sq(T)}`, `mkdir -p "$T"`, ...mountTreeLines(T), ...prepareRoot(T), ...steps()].join("\n");
      const r = await runIsolated(script, { log, signal, label: "zypper" });
      if (r.code !== 0) {
        const text = r.tail.join("\n");
        if (/Signature verification failed|Package is not signed|NOKEY|BAD signature/i.test(text)) {
          throw new DataError(
            `zypper refused a package whose signature does not verify against the keys of ${where()}: ${r.tail
              .filter((l) => /Signature verification failed|not signed|NOKEY|BAD/i.test(l))
              .slice(0, 3)
              .map((l) => l.trim())
              .join(" | ")}`,
            {
              hint: "sign the packages with the key the repository carries (repodata/repomd.xml.key, RPM-GPG-KEY*), or --insecure to install unverified packages (not recommended)",
            },
          );
        }
        throw stepFailed("zypper in the new tree", r.tail, plan.rootimgdir);
      }
    },
    packages: () => treePackages(plan.staging, home, log, signal),
    async finalize() {
      const changed = await finalizeCommon(plan.staging);
      // libzypp's per-system id (sent to update servers): every node gets its own, as with machine-id
      const id = join(plan.staging, "var/lib/zypp/AnonymousUniqueId");
      if (exists(id)) {
        rmSync(id, { force: true });
        changed.push("/var/lib/zypp/AnonymousUniqueId");
      }
      return changed;
    },
  };
}
