import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError, IOFailure, NotFoundError } from "../errors";
import type { Logger } from "../log";
import { mountTreeLines, runIsolated, sq, stepFailed } from "./isolate";
import { finalizeDebianTree } from "./node-tree";
import type { Pass } from "./pkglist";
import { type Backend, type BuildPlan, debArch } from "./plan";
import { type AptSource, aptSources, hostAptSources, hostMirrorFor, withoutCredentials } from "./repos";

/**
 * Debian and Ubuntu images: mmdebstrap builds the first transaction (xCAT's Debian genimage
 * uses debootstrap the same way), later transactions, otherpkgs and removals run apt-get
 * chrooted in the tree. apt always runs from a private configuration (never the MN's sources,
 * preferences, proxies or credentials), verifies the archive's signature with the keyring the
 * MN's own apt uses for that mirror (or the distribution's keyring), and downloads into
 * <installdir>/.cache/genimage/..., bind-mounted into the tree inside the step's namespace,
 * so a rebuild with unchanged lists downloads nothing but the indices' freshness checks.
 */
export function debianBackend(plan: BuildPlan, log: Logger, signal: AbortSignal): Backend {
  const arch = debArch(plan.arch);
  const host = hostAptSources();
  const main: AptSource[] = plan.pkgdir.trim() ? aptSources(plan.pkgdir, plan.family.suite, host) : defaultSource(plan, host);
  const other = plan.otherpkgdir.trim() ? aptSources(plan.otherpkgdir, (main[0] as AptSource).suite, host) : [];
  const sources = [...main, ...other];
  const defaultKeyring = plan.family.dir === "ubuntu" ? "/usr/share/keyrings/ubuntu-archive-keyring.gpg" : "/usr/share/keyrings/debian-archive-keyring.gpg";
  const keyringOf = (s: AptSource) => s.signedBy ?? defaultKeyring;
  const work = join(plan.work, "apt");
  const archives = join(plan.cache, "archives");
  const lists = join(plan.cache, "lists");
  const aptConfig = join(work, "apt.conf");
  const passes = plan.pkglist.passes;
  const otherPasses = plan.otherpkglist?.passes ?? [];
  const names = (p: Pass) => p.install.map((n) => (n.startsWith("@") ? `task-${n.slice(1)}` : n));
  const line = (s: AptSource, keyring: string) =>
    `deb [${plan.insecure ? "trusted=yes" : `signed-by=${keyring}`}] ${s.uri} ${s.suite} ${s.components.join(" ")}`;

  function checkTrust(): void {
    if (plan.insecure) return;
    for (const s of sources) {
      if (!existsSync(keyringOf(s))) {
        throw new NotFoundError(`no keyring to verify ${s.uri} ${s.suite}: ${keyringOf(s)} does not exist`, {
          hint:
            plan.family.dir === "ubuntu"
              ? "apt-get install ubuntu-archive-keyring, or --insecure to build without verifying (not recommended)"
              : "apt-get install debian-archive-keyring, or --insecure to build without verifying (not recommended)",
        });
      }
    }
  }

  /** The private apt configuration the precheck runs with (host-side apt, empty package database). */
  function writeHostAptConfig(): void {
    for (const d of ["etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d", "etc/trusted.gpg.d", "etc/auth.conf.d", "state", "cache"])
      mkdirSync(join(work, d), { recursive: true });
    mkdirSync(lists, { recursive: true });
    mkdirSync(archives, { recursive: true });
    writeFileSync(join(work, "state/status"), "");
    writeFileSync(join(work, "etc/sources.list"), `${sources.map((s) => line(s, keyringOf(s))).join("\n")}\n`);
    const e = (k: string, v: string) => `${k} ${JSON.stringify(v)};`;
    writeFileSync(
      aptConfig,
      [
        e("Dir", "/"),
        e("Dir::Etc", `${work}/etc/`),
        e("Dir::Etc::sourcelist", `${work}/etc/sources.list`),
        e("Dir::Etc::sourceparts", `${work}/etc/sources.list.d`),
        e("Dir::Etc::parts", `${work}/etc/apt.conf.d`),
        e("Dir::Etc::preferencesparts", `${work}/etc/preferences.d`),
        e("Dir::Etc::trustedparts", `${work}/etc/trusted.gpg.d`),
        e("Dir::Etc::netrcparts", `${work}/etc/auth.conf.d`),
        e("Dir::State", `${work}/state/`),
        e("Dir::State::lists", `${lists}/`),
        e("Dir::State::status", `${work}/state/status`),
        e("Dir::Cache", `${work}/cache/`),
        e("APT::Architecture", arch),
        `APT::Architectures { ${JSON.stringify(arch)}; };`,
        e("Acquire::Languages", "none"),
        e("APT::Install-Recommends", "false"),
        e("Debug::NoLocking", "true"),
        ...(plan.insecure ? [e("Acquire::AllowInsecureRepositories", "true")] : []),
        "",
      ].join("\n"),
    );
  }

  const where = () => sources.map((s) => `${withoutCredentials(s.uri)} ${s.suite}`).join(", ");

  function mmdebstrapArgv(): string[] {
    const first = passes[0] as Pass;
    const argv = [
      "mmdebstrap",
      "--mode=root",
      "--variant=apt",
      `--architectures=${arch}`,
      "--skip=download/empty",
      "--skip=essential/unlink",
      `--aptopt=Acquire::Languages "none"`,
      `--aptopt=APT::Install-Recommends "false"`,
      "--dpkgopt=force-unsafe-io",
    ];
    if (plan.insecure) argv.push(`--aptopt=Acquire::AllowInsecureRepositories "true"`);
    if (first.install.length) argv.push(`--include=${names(first).join(",")}`);
    if (sources.some((s) => s.uri.startsWith("file://"))) argv.push("--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount");
    // the package cache lives in installdir; the tree's archives directory only covers it inside this namespace
    argv.push(`--setup-hook=mkdir -p "$1/var/cache/apt/archives" && mount --bind ${sq(archives)} "$1/var/cache/apt/archives"`);
    argv.push(`--customize-hook=umount "$1/var/cache/apt/archives"`);
    argv.push((main[0] as AptSource).suite, plan.staging, ...sources.map((s) => line(s, keyringOf(s))));
    return argv;
  }

  /** apt-get chrooted in the staging tree, from sources and keyrings placed in its /run (a tmpfs of this namespace). */
  function chrootSteps(): string[] {
    const O =
      "-o Dir::Etc::SourceList=/run/xcimg/sources.list -o Dir::Etc::SourceParts=/run/xcimg/parts -o APT::Install-Recommends=false -o Acquire::Languages=none -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io";
    const apt = (env: Record<string, string>, args: string) =>
      `chroot "$T" env ${Object.entries({ ...plan.environ, ...env })
        .map(([k, v]) => sq(`${k}=${v}`))
        .join(" ")} DEBIAN_FRONTEND=noninteractive apt-get ${O} ${args}`;
    const steps: string[] = [];
    if (!plan.fresh && !plan.noupdate) steps.push(apt({}, "-y dist-upgrade"));
    for (const p of passes.slice(plan.fresh ? 1 : 0)) if (p.install.length) steps.push(apt(p.env, `-y install ${names(p).map(sq).join(" ")}`));
    const pre = [...passes, ...otherPasses].flatMap((p) => p.preRemove);
    if (pre.length) steps.push(apt({}, `-y purge ${pre.map(sq).join(" ")}`));
    for (const p of otherPasses) if (p.install.length) steps.push(apt(p.env, `-y install ${names(p).map(sq).join(" ")}`));
    const post = [...passes, ...otherPasses].flatMap((p) => p.postRemove);
    if (post.length) steps.push(apt({}, `-y purge ${post.map(sq).join(" ")}`));
    if (!steps.length) return [];
    const keyrings = [...new Set(sources.map(keyringOf))];
    const inTree = (k: string) => `/run/xcimg/keyring-${keyrings.indexOf(k)}.gpg`;
    const setup = [
      `T=${sq(plan.staging)}`,
      ...mountTreeLines(plan.staging),
      `mkdir -p "$T/var/cache/apt/archives" "$T/var/lib/apt/lists" "$T/run/xcimg/parts" "$T/etc"`,
      `mount --bind ${sq(archives)} "$T/var/cache/apt/archives"`,
      `mount --bind ${sq(lists)} "$T/var/lib/apt/lists"`,
      ...(plan.insecure ? [] : keyrings.map((k) => `cp ${sq(k)} "$T${inTree(k)}"`)),
      `printf '%s\\n' ${sources.map((s) => sq(line(s, inTree(keyringOf(s))))).join(" ")} > "$T/run/xcimg/sources.list"`,
      // the MN's resolver for the downloads; finalize removes it, and a failed tree is discarded
      `rm -f "$T/etc/resolv.conf"; cp /etc/resolv.conf "$T/etc/resolv.conf" 2>/dev/null || :`,
      apt({}, "update"),
    ];
    return [...setup, ...steps];
  }

  return {
    sources: () => sources.map((s) => `${withoutCredentials(s.uri)} ${s.suite}`),
    describe() {
      const out: string[] = [];
      if (plan.fresh)
        out.push(
          mmdebstrapArgv()
            .map((a) => (/^[\w=,./:-]+$/.test(a) ? a : sq(a)))
            .join(" "),
        );
      else out.push(`copy ${plan.tree} to ${plan.staging}`);
      out.push(...chrootSteps().filter((s) => s.startsWith("chroot")));
      return out;
    },
    async precheck() {
      checkTrust();
      writeHostAptConfig();
      const all = [...passes, ...otherPasses].flatMap(names);
      const script = [`apt-get update`, ...(all.length ? [`apt-get -s install ${all.map(sq).join(" ")} >/dev/null`] : [])].join("\n");
      const r = await runIsolated(script, { env: { APT_CONFIG: aptConfig }, log, signal, label: "apt precheck" });
      if (r.code === 0) return;
      const text = r.tail.join("\n");
      const missing = [...text.matchAll(/Unable to locate package (\S+)|Package '?([^' ]+)'? has no installation candidate/g)].map((m) => m[1] ?? m[2]);
      if (missing.length) {
        throw new NotFoundError(
          `package${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} in none of the repositories searched: ${where()}`,
          {
            hint: "fix the name in the pkglist/otherpkglist, or add the repository that has it to pkgdir/otherpkgdir",
          },
        );
      }
      if (/NO_PUBKEY|is not signed|EXPKEYSIG|BADSIG|InRelease.*(not valid|verification)|The following signatures/.test(text)) {
        throw new DataError(
          `the repository signature could not be verified (${where()}): ${r.tail
            .filter((l) => /^(E|W):/.test(l))
            .slice(0, 3)
            .join(" ")}`,
          {
            hint: "give the keyring that signs this mirror (Signed-By in the MN's apt sources), or --insecure to build without verifying",
          },
        );
      }
      if (r.tail.some((l) => /No space left|disk is full/i.test(l))) throw stepFailed("apt-get update", r.tail, plan.cache);
      throw new IOFailure(`apt could not read the repositories (${where()}): ${r.tail.slice(-5).join(" | ")}`, {
        hint: "check the mirror is reachable from this management node (rerun with -v)",
      });
    },
    async build() {
      if (plan.fresh) {
        const argv = mmdebstrapArgv();
        log.info(`Bootstrapping ${plan.osvers} ${plan.arch} from ${where()} (mmdebstrap)...`);
        const r = await runIsolated(`exec "$@"`.replace('"$@"', argv.map(sq).join(" ")), {
          env: { ...plan.environ, ...(passes[0] as Pass).env },
          log,
          signal,
          label: "mmdebstrap",
        });
        if (r.code !== 0) throw stepFailed("mmdebstrap", r.tail, plan.rootimgdir);
      }
      const steps = chrootSteps();
      if (steps.length) {
        log.info(`Installing the remaining package transactions into the new tree (apt-get)...`);
        const r = await runIsolated(steps.join("\n"), { log, signal, label: "apt-get" });
        if (r.code !== 0) throw stepFailed("apt-get in the new tree", r.tail, plan.rootimgdir);
      }
    },
    async packages() {
      const r = await runIsolated(`dpkg-query -W --admindir=${sq(join(plan.staging, "var/lib/dpkg"))} -f '\${Package}\\t\${Version}\\t\${Architecture}\\n'`, {
        log,
        signal,
        label: "dpkg-query",
        keepStdout: true,
      });
      if (r.code !== 0) throw stepFailed("dpkg-query", r.tail);
      return r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => {
          const [name = "", version = "", a = ""] = l.split("\t");
          return { name, version, arch: a };
        });
    },
    finalize: () =>
      finalizeDebianTree(
        plan.staging,
        main.map((s) => `deb ${withoutCredentials(s.uri)} ${s.suite} ${s.components.join(" ")}`),
      ),
  };
}

function defaultSource(plan: BuildPlan, host: AptSource[]): AptSource[] {
  const suite = plan.family.suite;
  if (!suite)
    throw new DataError(`osvers ${plan.osvers} names no ${plan.family.dir} release genimage knows, and pkgdir names no suite`, {
      hint: "set pkgdir to '<mirror URL> <suite>'",
    });
  const h = hostMirrorFor(suite, host);
  if (!h) {
    throw new NotFoundError(`no mirror for ${plan.family.dir} ${suite}: pkgdir is empty and this machine's apt has no source for ${suite}`, {
      hint: `set pkgdir, e.g. 'xcimg image set ${plan.image.name} "pkgdir=http://<mirror>/${plan.family.dir} ${suite}"'`,
    });
  }
  return [{ ...h, components: h.components.length ? h.components : ["main"] }];
}
