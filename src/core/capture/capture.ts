import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { basename, join } from "node:path";
import type { Context } from "../context";
import { fsError, RemoteError, UsageError } from "../errors";
import { acquireLock } from "../fs/lock";
import { exchangeDirs } from "../fs/swap";
import { shq, toBinary } from "../remote/shell";
import { abortReason, connect, type RemoteSession } from "../remote/ssh";
import { type SshFlags, nodeTarget } from "../remote/target";
import { buildExcludes, readExcludeFile } from "./excludes";
import { generalizeIdentity } from "./identity";
import { classifyMounts, type ClassifiedMount } from "./mounts";
import { type CaptureType, type CapturePlan, planImage, precheck } from "./plan";
import { formatBytes } from "./progress";
import { type NodeFacts, probeNode } from "./probe";
import { recordCapture } from "./record";
import { checkLocalTar, type StreamResult, streamCapture } from "./stream";
import { fullCaptureReason, linkCopy, localChange, recoverLeftovers, removeTree, type StateKey, touchState, treePaths, writeState } from "./tree";

/**
 * `xcimg capture`: copy a live golden node over SSH into an image, faithfully and
 * incrementally (docs/capture.md). The order of steps is what makes it safe: nothing on the
 * management node changes until the new tree is complete in a staging directory; then one
 * rename swaps it in, the tables are written in one transaction (the swap is undone if that
 * fails), and only then is the previous tree removed. Ctrl-C, a dropped connection, a full disk
 * or a failing tar on either side leave the previous image and the tables as they were.
 */
export interface CaptureRequest {
  node: string;
  type: CaptureType;
  image?: string;
  profile?: string;
  excludes: string[];
  excludeFile?: string;
  rootdir?: string;
  keepIdentity: boolean;
  ssh: SshFlags;
}

export interface CaptureResult extends Omit<StreamResult, "warnings"> {
  image: string;
  node: string;
  type: CaptureType;
  provmethod: string;
  level: "full" | "incremental";
  tree: string;
  osvers: string;
  osarch: string;
  profile: string;
  identityRemoved: string[];
  excludedMounts: string[];
  kernels: NodeFacts["kernels"];
  warnings: string[];
  summary: string;
}

const display = (binary: string) => Buffer.from(binary, "latin1").toString("utf8");

export async function captureNode(ctx: Context, req: CaptureRequest): Promise<CaptureResult> {
  const { log, signal } = ctx;
  const started = new Date();
  if (req.rootdir !== undefined && !req.rootdir.startsWith("/")) throw new UsageError(`--rootdir must be an absolute path on the node, not '${req.rootdir}'`);
  const existing = precheck(ctx.db(), req.type, req.image, req.profile);
  const fileExcludes = req.excludeFile ? readExcludeFile(req.excludeFile, (m) => log.warn(m)) : [];
  checkLocalTar();
  const target = nodeTarget(ctx, req.node, req.ssh);
  const session = await connect(target, { signal, log });
  let facts: NodeFacts | null = null;
  try {
    log.info(`Capturing image on ${session.where}...`);
    facts = await probeNode(session, req.rootdir ?? "/", req.type === "sysclone" && !req.rootdir, signal);
    checkRemoteTar(facts, session.where);
    const plan = planImage(ctx.db(), ctx.config, { type: req.type, image: req.image, profile: req.profile, existing }, { osvers: facts.osvers, arch: facts.arch, where: session.where });
    const lock = acquireLock(ctx.config.installdir, plan.tree, `capture ${req.node} -o ${plan.name}`);
    try {
      return await captureInto(ctx, req, session, facts, plan, fileExcludes, started);
    } finally {
      lock.release();
    }
  } finally {
    if (facts?.tmpdir && !session.lost) await session.run(`rm -rf ${shq(facts.tmpdir)}`).catch(() => {});
    session.close();
  }
}

function checkRemoteTar(facts: NodeFacts, where: string): void {
  const t = facts.tar;
  if (!t) throw new RemoteError(`${where} has no tar: GNU tar 1.27 or newer is needed to stream its files`, { hint: "install the 'tar' package on the node" });
  if (!/GNU tar/.test(t.version)) throw new RemoteError(`the tar on ${where} is not GNU tar (${t.path}: '${t.version}')`, { hint: "install GNU tar 1.27 or newer on the node" });
  if (t.missing.length) {
    throw new RemoteError(`GNU tar on ${where} (${t.version}) lacks ${t.missing.join(", ")}, needed to carry xattrs, ACLs and sparse files and to capture incrementally`, {
      hint: "install GNU tar 1.27 or newer on the node",
    });
  }
  if (!facts.tmpdir) throw new RemoteError(`cannot create a scratch directory in /dev/shm, /run or /tmp on ${where}`);
}

/** Used bytes of the filesystems being captured, for the ETA of a full capture of /. */
function estimate(facts: NodeFacts, mounts: ClassifiedMount[]): number | null {
  const fs = (facts.findmnt as { filesystems?: unknown[] } | null)?.filesystems;
  if (!fs) return null;
  const flat: { target?: string; used?: number }[] = [];
  const walk = (list: unknown[]) => {
    for (const f of list as { target?: string; used?: number; children?: unknown[] }[]) {
      flat.push(f);
      if (f.children) walk(f.children);
    }
  };
  walk(fs);
  const captured = new Set(mounts.filter((m) => m.action !== "excluded").map((m) => display(m.mountpoint)));
  const total = flat.filter((f) => f.target && captured.has(f.target)).reduce((n, f) => n + (Number(f.used) || 0), 0);
  return total > 0 ? total : null;
}

async function captureInto(ctx: Context, req: CaptureRequest, session: RemoteSession, facts: NodeFacts, plan: CapturePlan, fileExcludes: string[], started: Date): Promise<CaptureResult> {
  const { log, signal } = ctx;
  const paths = treePaths(plan.tree);
  try {
    mkdirSync(paths.parent, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${paths.parent}`);
  }
  await recoverLeftovers(paths, log);

  const mounts = classifyMounts(facts.mounts, facts.root);
  const ex = buildExcludes({
    installdir: ctx.config.installdir,
    profile: plan.profile,
    osvers: plan.osvers,
    arch: plan.osarch,
    mounts,
    cli: req.excludes,
    fileLists: fileExcludes,
    warn: (m) => log.warn(m),
  });
  const patterns = [...ex.patterns.map(toBinary), ...ex.mountPatterns];
  const key: StateKey = { node: req.node, rootdir: req.rootdir ?? "/", excludes: patterns, identity: req.keepIdentity ? "kept" : "generalized" };
  let reason = fullCaptureReason(paths, key);
  if (!reason) {
    const changed = await localChange(paths, signal);
    if (changed) reason = `${changed} was changed on this management node after the previous capture`;
  }
  const level = reason ? "full" : "incremental";
  if (reason && existsSync(plan.tree)) log.info(`Full capture: ${reason}`);
  const excludedMounts = mounts.filter((m) => m.action === "excluded").map((m) => `${display(m.mountpoint)} (${m.fstype})`);
  if (excludedMounts.length) log.info(`Not captured, kept as empty directories: ${excludedMounts.join(", ")}`);
  log.debug(`excludes (${ex.base}): ${patterns.map(display).join(" ")}`);

  const tmpSnar = `${facts.tmpdir}/snar`;
  if (level === "incremental") {
    const up = await session.run(`cat > ${shq(tmpSnar)}`, { stdin: readFileSync(paths.snar), signal });
    if (up.code !== 0) throw new RemoteError(`cannot write the snapshot file to ${facts.tmpdir} on ${session.where}: ${up.stderr.trim()}`);
  }
  let result: StreamResult;
  let snar: Buffer;
  let identityRemoved: string[] = [];
  try {
    if (level === "incremental") await linkCopy(plan.tree, paths.staging, signal);
    else mkdirSync(paths.staging, { mode: 0o755 });
    log.info(`Transferring the image captured on ${session.where} into ${plan.tree} (${level})...`);
    result = await streamCapture(session, { tarPath: facts.tar?.path ?? "tar", root: facts.root, snarPath: tmpSnar, excludes: patterns }, paths.staging, {
      signal,
      log,
      estimate: level === "full" && !req.rootdir ? estimate(facts, mounts) : null,
      label: `capturing ${req.node}`,
    });
    const got = await session.run(`cat ${shq(tmpSnar)}`, { signal });
    if (got.code !== 0) throw new RemoteError(`cannot read the snapshot file back from ${session.where}: ${got.stderr.trim()}`);
    snar = got.stdout;
    if (!req.keepIdentity) identityRemoved = await generalizeIdentity(paths.staging);
    if (signal.aborted) throw abortReason(signal);
  } catch (e) {
    await removeTree(paths.staging);
    if (level === "incremental") touchState(paths);
    throw e;
  }
  if (result.warnings.length) {
    log.warn(`the node's tar reported ${result.warnings.length} warning(s) (usually files that changed while being read; the image has them as they were then): ${result.warnings.slice(0, 3).join("; ")}`);
  }
  if (identityRemoved.length) log.info(`Generalized the node's identity (--keep-identity keeps it): ${identityRemoved.join(", ")}`);

  // commit: swap the tree in, write the tables, then drop the previous tree
  const hadTree = existsSync(plan.tree);
  const aside = join(paths.parent, `.xcimg-old.${basename(plan.tree)}.${process.pid}`);
  if (hadTree) await exchangeDirs(plan.tree, paths.staging, aside);
  else renameSync(paths.staging, plan.tree);
  const finished = new Date();
  try {
    recordCapture(ctx.db(), plan, {
      node: req.node,
      address: session.target.host,
      type: req.type,
      rootdir: req.rootdir ?? null,
      started: started.toISOString(),
      finished: finished.toISOString(),
      level,
      osRelease: facts.osRelease,
      kernels: facts.kernels,
      diskLayout: facts.layout,
      mounts: mounts.map((m) => ({ ...m, mountpoint: display(m.mountpoint), member: display(m.member), source: display(m.source) })),
      excludes: { base: ex.base, patterns: patterns.map(display) },
      identity: { kept: req.keepIdentity, removed: identityRemoved },
      tarVersion: facts.tar?.version ?? "",
      ...result,
      seconds: (finished.getTime() - started.getTime()) / 1000,
    });
  } catch (e) {
    if (hadTree) await exchangeDirs(plan.tree, paths.staging, aside);
    else renameSync(plan.tree, paths.staging);
    await removeTree(paths.staging);
    throw e;
  }
  if (hadTree) await removeTree(paths.staging);
  writeState(paths, key, snar);

  const seconds = (Date.now() - started.getTime()) / 1000;
  const what = level === "full" ? `${result.files} files, ${result.dirs} directories` : `${result.files} files new or changed, ${result.dirs} directories checked`;
  const summary = `Captured ${req.node} into image ${plan.name} (${plan.tree}): ${level}, ${what}, ${formatBytes(result.bytes)} in ${seconds.toFixed(1)} s`;
  log.info("Done.");
  return {
    ...result,
    seconds,
    image: plan.name,
    node: req.node,
    type: req.type,
    provmethod: plan.provmethod,
    level,
    tree: plan.tree,
    osvers: plan.osvers,
    osarch: plan.osarch,
    profile: plan.profile,
    identityRemoved,
    excludedMounts,
    kernels: facts.kernels,
    summary,
  };
}
