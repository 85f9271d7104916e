import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError, NotFoundError } from "../errors";
import type { Logger } from "../log";
import { mountTreeLines, runIsolated, sq, stepFailed } from "./isolate";
import { finalizeCommon } from "./node-tree";
import type { Pass } from "./pkglist";
import type { Backend, BuildPlan } from "./plan";
import { type RpmRepo, rpmRepos } from "./repos";
import { missingMessage, privateRpmHome, treePackages } from "./rpmdb";

/**
 * RHEL-family images with `dnf --installroot`, which runs on this Debian MN (Debian's dnf and
 * rpm). dnf reads only a private configuration: its own dnf.conf and reposdir holding the
 * repositories of pkgdir/otherpkgdir (never the MN's, never the tree's), gpgcheck on with the
 * RPM-GPG-KEY* files found beside the repositories (--insecure turns it off, loudly).
 *
 * The database is the tree's own /var/lib/rpm, not Debian's ~/.rpmdb (rpmdb.ts). Downloaded packages are kept in <installdir>/.cache/genimage/rpm/..., bind-mounted as the
 * tree's /var/cache/dnf inside the step's namespace only.
 */
export function rpmBackend(plan: BuildPlan, log: Logger, signal: AbortSignal): Backend {
  if (!plan.pkgdir.trim())
    throw new DataError(`image ${plan.image.name} has no pkgdir`, { hint: "set pkgdir to the media's directory (xcimg image media) or a repository URL" });
  const repos: RpmRepo[] = [...rpmRepos(plan.pkgdir, "pkgdir"), ...(plan.otherpkgdir.trim() ? rpmRepos(plan.otherpkgdir, "otherpkgdir") : [])];
  const work = join(plan.work, "dnf");
  const home = join(work, "home");
  const dnfCache = join(plan.cache, "dnf");
  const releasever = plan.family.version || "0";
  const passes = plan.pkglist.passes;
  const otherPasses = plan.otherpkglist?.passes ?? [];
  const env = { ...plan.environ, HOME: home };
  const where = () => repos.map((r) => r.baseurl).join(", ");

  function writeConfig(): void {
    mkdirSync(join(work, "repos.d"), { recursive: true });
    privateRpmHome(home);
    mkdirSync(dnfCache, { recursive: true });
    const gpg = plan.insecure ? "0" : "1";
    writeFileSync(
      join(work, "dnf.conf"),
      [
        "[main]",
        `gpgcheck=${gpg}`,
        `localpkg_gpgcheck=${gpg}`,
        "repo_gpgcheck=0",
        "keepcache=1",
        "cachedir=/var/cache/dnf",
        "install_weak_deps=False",
        "installonly_limit=3",
        "best=True",
        "skip_if_unavailable=False",
        `reposdir=${work}/repos.d`,
        "plugins=0",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(work, "repos.d", "xcimg.repo"),
      repos
        .map((r) =>
          [
            `[${r.id}]`,
            `name=${r.id}`,
            `baseurl=${r.baseurl}`,
            "enabled=1",
            `gpgcheck=${gpg}`,
            ...(r.keys.length ? [`gpgkey=${r.keys.map((k) => `file://${k}`).join(" ")}`] : []),
            "",
          ].join("\n"),
        )
        .join("\n"),
    );
    if (!plan.insecure && repos.some((r) => !r.keys.length)) {
      const bare = repos.filter((r) => !r.keys.length).map((r) => r.baseurl);
      throw new NotFoundError(`no RPM-GPG-KEY* file to verify ${bare.join(", ")}`, {
        hint: "put the signing key (RPM-GPG-KEY-...) at the top of the repository directory, or --insecure to build without verifying (not recommended)",
      });
    }
  }

  const dnf = (root: string, passEnv: Record<string, string>, args: string) =>
    `env ${Object.entries({ ...env, ...passEnv })
      .map(([k, v]) => sq(`${k}=${v}`))
      .join(
        " ",
      )} dnf -y --noplugins --config=${sq(join(work, "dnf.conf"))} --installroot=${sq(root)} --releasever=${sq(releasever)} --setopt=reposdir=${sq(join(work, "repos.d"))} ${args}`;
  const names = (p: Pass) => p.install.map(sq).join(" ");

  function steps(): string[] {
    const T = plan.staging;
    const out: string[] = [];
    if (!plan.fresh && !plan.noupdate) out.push(dnf(T, {}, `upgrade${plan.kernelver ? " --exclude='kernel*'" : ""}`));
    for (const p of passes) if (p.install.length) out.push(dnf(T, p.env, `install ${names(p)}`));
    const pre = [...passes, ...otherPasses].flatMap((p) => p.preRemove);
    if (pre.length) out.push(dnf(T, {}, `remove ${pre.map(sq).join(" ")}`));
    for (const p of otherPasses) if (p.install.length) out.push(dnf(T, p.env, `install ${names(p)}`));
    const post = [...passes, ...otherPasses].flatMap((p) => p.postRemove);
    if (post.length) out.push(dnf(T, {}, `remove ${post.map(sq).join(" ")}`));
    return out;
  }

  return {
    sources: () => repos.map((r) => r.baseurl),
    describe: () => [plan.fresh ? `mkdir ${plan.staging}` : `copy ${plan.tree} to ${plan.staging}`, ...steps()],
    async precheck() {
      writeConfig();
      const probe = join(work, "probe-root");
      const all = [...new Set([...passes, ...otherPasses].flatMap((p) => p.install))];
      const script = [
        `mkdir -p ${sq(probe)}/var/cache/dnf`,
        `mount --bind ${sq(dnfCache)} ${sq(probe)}/var/cache/dnf`,
        `${dnf(probe, {}, `--assumeno install ${all.map(sq).join(" ")}`).replace(" -y ", " ")} || echo "xcimg-rc=$?"`,
      ].join("\n");
      const r = await runIsolated(script, { log, signal, label: "dnf precheck" });
      const text = r.tail.join("\n");
      const missing = [...text.matchAll(/No match for argument: (\S+)/g)].map((m) => m[1] as string);
      if (missing.length) {
        throw new NotFoundError(missingMessage(missing, where()), {
          hint: "fix the name in the pkglist/otherpkglist, or add the repository that has it to pkgdir/otherpkgdir",
        });
      }
      if (r.code !== 0 || (/Error:|Failed to download metadata|Cannot download repomd/.test(text) && !/Operation aborted/.test(text))) {
        throw stepFailed(`dnf resolving the package lists from ${where()}`, r.tail, plan.rootimgdir);
      }
    },
    async build() {
      const T = plan.staging;
      log.info(`Installing ${plan.osvers} ${plan.arch} from ${where()} (dnf --installroot)...`);
      const script = [
        `T=${sq(T)}`,
        `mkdir -p "$T"`,
        ...mountTreeLines(T),
        `mkdir -p "$T/var/cache/dnf" "$T/var/lib/rpm"`,
        `mount --bind ${sq(dnfCache)} "$T/var/cache/dnf"`,
        ...steps(),
      ].join("\n");
      const r = await runIsolated(script, { log, signal, label: "dnf" });
      if (r.code !== 0) {
        const text = r.tail.join("\n");
        if (/GPG check FAILED|is not signed|Public key for .* is not installed|NOKEY|BAD signature|signature/i.test(text)) {
          throw new DataError(
            `dnf refused a package whose signature does not verify against the keys of ${where()}: ${r.tail
              .filter((l) => /GPG|signature|key/i.test(l))
              .slice(0, 3)
              .join(" | ")}`,
            {
              hint: "sign the packages with the key in the repository's RPM-GPG-KEY* file, or --insecure to install unverified packages (not recommended)",
            },
          );
        }
        throw stepFailed("dnf in the new tree", r.tail, plan.rootimgdir);
      }
    },
    packages: () => treePackages(plan.staging, home, log, signal),
    finalize: () => finalizeCommon(plan.staging),
  };
}
