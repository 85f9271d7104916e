import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Context } from "../context";
import { findImage, getImage, type Image, setImage } from "../defs/image";
import { DataError, fsError, IOFailure, UsageError } from "../errors";
import { copyAtomic } from "../fs/atomic";
import { isAlive, lockImageDir } from "../fs/lock";
import { exchangeDirs } from "../fs/swap";
import { rootImgDir } from "../image/paths";
import { sealNewTree } from "../image/tree-barrier";
import { pickKernel } from "../pack/kernel";
import { methodWhere } from "../provmethod/facts";
import { abortReason } from "../remote/ssh";
import { checkCrossArch } from "./cross-arch";
import { debianBackend } from "./debian";
import { osFamily } from "./family";
import { readInputs } from "./inputs";
import { mountsBelow, stepFailed } from "./isolate";
import type { Backend, BuildPlan } from "./plan";
import { runPostinstall } from "./postinstall";
import { writeRecord } from "./record";
import { rpmBackend } from "./rpm";
import { zypperBackend } from "./zypper";

/**
 * `xcimg genimage`: build a diskless image's root tree from distribution packages (xCAT
 * genimage), air-gapped from the MN. The order is what keeps the previous image safe: every
 * input is read and checked, then (under the image lock) the package manager is asked whether
 * every package exists and the repositories are trusted; only then is a staging tree built
 * beside the live one (<rootimgdir>/.xcimg-genimage.rootimg/, 0700), each step in a private
 * mount+PID namespace (isolate.ts); the tree is made a node's (node-tree.ts), the postinstall
 * scripts run, and one rename swaps it in. Any failure, Ctrl-C or kill -9 leaves the previous
 * tree as it was; a later run removes what a killed one left.
 */
export interface GenimageRequest {
  image?: string;
  osvers?: string;
  arch?: string;
  profile?: string;
  kernelver?: string;
  dryrun: boolean;
  noupdate: boolean;
  fresh: boolean;
  insecure: boolean;
}

export interface GenimageResult {
  image: string;
  tree: string;
  backend: string;
  fresh: boolean;
  dryrun: boolean;
  sources: string[];
  commands?: string[];
  kernel: string | null;
  packages: number;
  record?: string;
  removedFromTree: string[];
  seconds: number;
  summary: string;
}

/** The provmethod of the images genimage defines, and builds for when an image has none (MethodFacts.genimage). */
function genimageMethod(): string {
  return methodWhere("genimage creates", (f) => f.genimage?.creates === true);
}

export async function genimage(ctx: Context, req: GenimageRequest): Promise<GenimageResult> {
  const started = Date.now();
  const { log, signal } = ctx;
  const { img, updates } = resolveImage(ctx, req);
  const osvers = req.osvers ?? img.attrs.osvers ?? "";
  const arch = req.arch ?? img.attrs.osarch ?? "x86_64";
  const profile = req.profile ?? img.attrs.profile ?? "compute";
  if (!osvers) throw new DataError(`image ${img.name} has no osvers`, { hint: `set it: 'xcimg image set ${img.name} osvers=debian12' (or give -o)` });
  const family = osFamily(osvers);
  const kernelver = req.kernelver ?? img.attrs.kernelver ?? undefined;
  const effective: Image = {
    name: img.name,
    attrs: { ...img.attrs, osvers, osarch: arch, profile, ...(kernelver ? { kernelver } : {}), provmethod: img.attrs.provmethod || genimageMethod() },
  };
  const rootimgdir = rootImgDir(ctx.config, effective);
  const tree = join(rootimgdir, "rootimg");
  const inputs = readInputs(ctx.config, effective, family, osvers, arch, profile);
  if (inputs.foundPkglist && !img.attrs.pkglist) updates.pkglist = inputs.foundPkglist;
  const work = join(rootimgdir, ".xcimg-genimage.rootimg");
  const plan: BuildPlan = {
    image: effective,
    osvers,
    arch,
    profile,
    family,
    rootimgdir,
    tree,
    work,
    staging: join(work, `staging.${process.pid}`),
    cache: join(ctx.config.installdir, ".cache", "genimage", family.backend, `${osvers}-${arch}`),
    pkglist: inputs.pkglist,
    pkglistSource: inputs.pkglistSource,
    otherpkglist: inputs.otherpkglist,
    pkgdir: inputs.pkgdir,
    otherpkgdir: inputs.otherpkgdir,
    postinstall: inputs.postinstall,
    kernelver,
    environ: inputs.environ,
    fresh: req.fresh || !existsSync(tree),
    noupdate: req.noupdate,
    insecure: req.insecure,
  };
  const backend: Backend =
    family.backend === "debian"
      ? debianBackend(plan, log, signal)
      : family.backend === "zypper"
        ? zypperBackend(plan, log, signal)
        : rpmBackend(plan, log, signal);
  if (req.insecure) log.warn(`--insecure: packages and repositories of ${img.name} are NOT verified against any signing key`);

  if (req.dryrun) {
    const commands = [
      ...backend.describe(),
      ...plan.postinstall.map((p) => [p.script, plan.staging, osvers, arch, profile, ...p.args].join(" ")),
      `swap ${plan.staging} into ${tree}`,
    ];
    const lines = [
      `genimage ${img.name} (${family.backend}, ${plan.fresh ? "fresh" : "over a copy of the current tree"}) would run:`,
      ...commands.map((c) => `  ${c}`),
      `  repositories: ${backend.sources().join(", ")}`,
      ...(Object.keys(updates).length
        ? [
            `  and set ${Object.entries(updates)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")} on ${img.name}`,
          ]
        : []),
    ];
    return {
      image: img.name,
      tree,
      backend: family.backend,
      fresh: plan.fresh,
      dryrun: true,
      sources: backend.sources(),
      commands,
      kernel: null,
      packages: 0,
      removedFromTree: [],
      seconds: 0,
      summary: lines.join("\n"),
    };
  }

  checkCrossArch(arch);
  const lock = lockImageDir(ctx.config.installdir, rootimgdir, `xcimg genimage ${img.name}`);
  const hadDir = existsSync(rootimgdir);
  let built = false;
  try {
    prepareWork(plan, log);
    await backend.precheck();
    if (!plan.fresh) copyTree(tree, plan.staging);
    let removed: string[] = [];
    try {
      await backend.build();
      removed = await backend.finalize();
      const kernel = pickKernel(plan.staging, kernelver);
      await runPostinstall(plan, kernel?.version ?? kernelver ?? "", log, signal);
      const packages = await backend.packages();
      if (signal.aborted) throw abortReason(signal);
      // commit: seal the tree (root:root 0700 on the MN, the node's / recorded) and swap it in
      // dpkg/rpm ran without fsync (a crash discards the staging tree anyway): make it durable once, before it goes live
      spawnSync("sync", ["-f", plan.staging]);
      const hadTree = existsSync(tree);
      sealNewTree(plan.staging, tree);
      if (hadTree) await exchangeDirs(tree, plan.staging, join(work, `aside.${process.pid}`));
      else renameSync(plan.staging, tree);
      const k = pickKernel(tree, kernelver);
      if (k) copyAtomic(k.path, join(rootimgdir, "kernel"));
      else
        log.warn(
          `the package list installs no kernel: nodes cannot boot ${img.name} until one is in ${tree}/boot (add linux-image-* or kernel to the pkglist)`,
        );
      const seconds = (Date.now() - started) / 1000;
      writeRecord(rootimgdir, {
        version: 1,
        image: img.name,
        osvers,
        osarch: arch,
        profile,
        backend: family.backend,
        built: new Date().toISOString(),
        seconds,
        fresh: plan.fresh,
        insecure: plan.insecure,
        inputs: {
          digest: inputs.digest,
          pkglist: inputs.pkglistSource,
          otherpkglist: img.attrs.otherpkglist ?? "",
          pkgdir: plan.pkgdir,
          otherpkgdir: plan.otherpkgdir,
          postinstall: img.attrs.postinstall ?? "",
          sources: backend.sources(),
        },
        kernel: k ? { version: k.version, path: k.path.slice(tree.length) } : null,
        packages,
      });
      if (Object.keys(updates).length || !findImage(ctx.db(), img.name))
        setImage(ctx.db(), img.name, { provmethod: effective.attrs.provmethod as string, ...updates });
      built = true;
      return {
        image: img.name,
        tree,
        backend: family.backend,
        fresh: plan.fresh,
        dryrun: false,
        sources: backend.sources(),
        kernel: k?.version ?? null,
        packages: packages.length,
        record: join(rootimgdir, "genimage.json"),
        removedFromTree: removed,
        seconds,
        summary: `Built image ${img.name} (${tree}) from ${backend.sources().join(", ")}: ${packages.length} packages, kernel ${k?.version ?? "none"}, in ${seconds.toFixed(1)} s`,
      };
    } finally {
      removeStaging(plan.staging);
      removeStaging(join(work, `aside.${process.pid}`));
    }
  } finally {
    // a first build that failed leaves no image directory behind (the package cache stays)
    if (!built && !hadDir) removeStaging(rootimgdir);
    lock.release();
  }
}

/** The image row (created from -o/-a/-p when it does not exist) and the flags to write back into it, as xCAT's genimage does. */
function resolveImage(ctx: Context, req: GenimageRequest): { img: Image; updates: Record<string, string> } {
  const updates: Record<string, string> = {};
  if (req.osvers) updates.osvers = req.osvers;
  if (req.arch) updates.osarch = req.arch;
  if (req.profile) updates.profile = req.profile;
  if (req.kernelver) updates.kernelver = req.kernelver;
  if (!req.image && !req.osvers)
    throw new UsageError("give an image name, or -o <osver> [-a <arch>] [-p <profile>]", { hint: "xcimg genimage debian12-x86_64-netboot-compute" });
  const name = req.image ?? `${req.osvers}-${req.arch ?? "x86_64"}-netboot-${req.profile ?? "compute"}`;
  const existing = findImage(ctx.db(), name);
  if (existing) {
    for (const [k, v] of Object.entries(updates)) if (existing.attrs[k] === v) delete updates[k];
    return { img: existing, updates };
  }
  if (!req.osvers) return { img: getImage(ctx.db(), name), updates };
  return {
    img: { name, attrs: { imagetype: "linux", provmethod: genimageMethod() } },
    updates: { ...updates, provmethod: genimageMethod(), osvers: req.osvers, osarch: req.arch ?? "x86_64", profile: req.profile ?? "compute" },
  };
}

/** The work directory, closed to local users (a staging tree holds setuid programs), cleared of what a killed run left. */
function prepareWork(plan: BuildPlan, log: Context["log"]): void {
  try {
    mkdirSync(plan.rootimgdir, { recursive: true, mode: 0o755 });
    mkdirSync(plan.work, { recursive: true, mode: 0o700 });
    chmodSync(plan.work, 0o700);
    mkdirSync(plan.cache, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${plan.work}`);
  }
  for (const name of readdirSync(plan.work)) {
    const m = /^(staging|aside)\.(\d+)$/.exec(name);
    if (!m || (Number(m[2]) !== process.pid && isAlive(Number(m[2])))) continue;
    log.info(`removing ${join(plan.work, name)}, left by an interrupted genimage`);
    removeStaging(join(plan.work, name));
  }
}

/** Never descends through a mount: a staging tree still mounted on would take /dev or the cache with it. */
function removeStaging(dir: string): void {
  if (!existsSync(dir)) return;
  const mounted = mountsBelow(dir);
  if (mounted.length)
    throw new IOFailure(`${dir} still has mounts (${mounted.slice(0, 3).join(", ")}); not removing it`, {
      hint: `unmount them (umount -R ${dir}), then rerun`,
    });
  rmSync(dir, { recursive: true, force: true });
}

/** Not fresh: start from a full copy of the live tree (never hardlinks: package managers rewrite files in place). */
function copyTree(tree: string, staging: string): void {
  const r = spawnSync("cp", ["-a", "--reflink=auto", "--", tree, staging], { encoding: "utf8" });
  if (r.status !== 0) throw stepFailed(`copying ${tree} to ${staging}`, (r.stderr ?? "").trim().split("\n"), dirname(tree));
}
