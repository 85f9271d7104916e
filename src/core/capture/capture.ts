import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, posix } from "node:path";
import type { Context } from "../context";
import { findImage } from "../defs/image";
import { fsError, UsageError } from "../errors";
import { lockImageDir } from "../fs/lock";
import { exchangeDirs } from "../fs/swap";
import { nodeTop, sealNewTree } from "../image/tree-barrier";
import { shq, toBinary } from "../remote/shell";
import { abortReason, connect, type RemoteSession } from "../remote/ssh";
import { nodeTarget, type SshFlags } from "../remote/target";
import { catchUp } from "./catchup";
import { makeJailDir, removeJailDir } from "./confine";
import { buildExcludes, readExcludeFile } from "./excludes";
import { generalizeFstab } from "./fstab";
import { generalizeIdentity } from "./identity";
import { captureTypeFacts } from "./method-facts";
import { classifyMounts } from "./mounts";
import { type CapturePlan, type CaptureType, planImage, precheck } from "./plan";
import { type NodeFacts, probeNode, requireUsableTar, usedBytes } from "./probe";
import { formatBytes } from "./progress";
import { recordCapture } from "./record";
import { checkReplace, imageTree, keepRollback } from "./replace-guard";
import { checkLocalTar, type StreamResult, streamCapture } from "./stream";
import {
  dropState,
  ensureWork,
  linkCopy,
  localChange,
  readChanges,
  readSnar,
  recoverLeftovers,
  removeTree,
  type StateKey,
  stateTreeToBase,
  touchTreeState,
  treePaths,
  unusableReason,
  writeTreeState,
} from "./tree";

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
  /** Replace a tree that holds what the MN made or that nodes mount (replace-guard.ts), keeping it as <tree>.prev. */
  force?: boolean;
  ssh: SshFlags;
}

export interface CaptureResult extends Omit<StreamResult, "warnings" | "snar" | "names"> {
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
  /** Diskless only: what was changed so nodes without the golden node's disks boot (fstab). */
  disklessAdjusted: string[];
  excludedMounts: string[];
  kernels: NodeFacts["kernels"];
  warnings: string[];
  /** Where the replaced tree was kept (a forced capture over a guarded tree), else null. */
  rollback: string | null;
  summary: string;
}

const display = (binary: string) => Buffer.from(binary, "latin1").toString("utf8");

export async function captureNode(ctx: Context, req: CaptureRequest): Promise<CaptureResult> {
  const { log, signal } = ctx;
  const started = new Date();
  if (req.rootdir !== undefined) {
    if (!req.rootdir.startsWith("/")) throw new UsageError(`--rootdir must be an absolute path on the node, not '${req.rootdir}'`);
    req = { ...req, rootdir: posix.normalize(req.rootdir).replace(/(.)\/+$/, "$1") };
  }
  const existing = precheck(ctx.db(), req.type, req.image, req.profile);
  // refuse before connecting when the tree is known already; planImage's tree is checked again below
  const known = existing && imageTree(ctx.config, existing);
  if (existing && known) checkReplace(existing, known, req.force === true);
  const fileExcludes = req.excludeFile ? readExcludeFile(req.excludeFile, (m) => log.warn(m)) : [];
  checkLocalTar();
  const target = nodeTarget(ctx, req.node, req.ssh);
  const session = await connect(target, { signal, log });
  let facts: NodeFacts | null = null;
  try {
    log.info(`Capturing image on ${session.where}...`);
    facts = await probeNode(session, req.rootdir ?? "/", captureTypeFacts(req.type).probesDisks === true && !req.rootdir, signal);
    requireUsableTar(facts, session.where);
    const plan = planImage(
      ctx.db(),
      ctx.config,
      { type: req.type, image: req.image, profile: req.profile, existing },
      { osvers: facts.osvers, arch: facts.arch, where: session.where },
    );
    // the image directory is the lock subject every command that writes an image uses
    const lock = lockImageDir(ctx.config.installdir, plan.rootimgdir, `xcimg capture ${req.node} -o ${plan.name}`);
    try {
      const img = plan.created ? null : findImage(ctx.db(), plan.name);
      const keepPrevious = img ? checkReplace(img, plan.tree, req.force === true) : false;
      return await captureInto(ctx, req, session, facts, plan, fileExcludes, started, keepPrevious);
    } finally {
      lock.release();
    }
  } finally {
    if (facts?.tmpdir && !session.lost) await session.run(`rm -rf ${shq(facts.tmpdir)}`).catch(() => {});
    session.close();
  }
}

/**
 * Where the new tree is built: in base/ (the tree before last, kept hardlinked after the
 * previous swap, brought up to the live tree by replaying the last capture's changes) when it
 * is a valid starting point, else in a hardlink copy of the live tree, else (no usable
 * previous capture) from nothing. The first two are incremental against the live tree's
 * snapshot: only what changed on the node since the last capture travels.
 */
type Mode = "base" | "link" | "full";

async function captureInto(
  ctx: Context,
  req: CaptureRequest,
  session: RemoteSession,
  facts: NodeFacts,
  plan: CapturePlan,
  fileExcludes: string[],
  started: Date,
  keepPrevious: boolean,
): Promise<CaptureResult> {
  const { log, signal } = ctx;
  const paths = treePaths(plan.tree);
  try {
    mkdirSync(dirname(plan.tree), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${dirname(plan.tree)}`);
  }
  ensureWork(paths);
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
  let reason = unusableReason(paths, "tree", key);
  if (!reason) {
    const changed = await localChange(paths, signal);
    if (changed) reason = `${changed} was changed on this management node after the previous capture`;
  }
  const changes = reason || unusableReason(paths, "base", key) ? null : readChanges(paths);
  const mode: Mode = reason ? "full" : changes ? "base" : "link";
  const snar = mode === "full" ? null : readSnar(paths, "tree");
  const level = mode === "full" ? "full" : "incremental";
  if (reason && existsSync(plan.tree)) log.info(`Full capture: ${reason}`);
  const excludedMounts = mounts.filter((m) => m.action === "excluded").map((m) => `${display(m.mountpoint)} (${m.fstype})`);
  if (excludedMounts.length) log.info(`Not captured, kept as empty directories: ${excludedMounts.join(", ")}`);
  log.debug(`excludes (${ex.base}): ${patterns.map(display).join(" ")}`);

  // base/ is about to change: it stops being a valid starting point whatever happens next
  dropState(paths, "base");
  const target = mode === "base" ? paths.base : paths.staging;
  let result: StreamResult;
  let identityRemoved: string[] = [];
  let adjusted: string[] = [];
  try {
    if (mode === "base") log.debug(`brought the previous tree up to date: ${catchUp(plan.tree, paths.base, changes ?? [])} paths`);
    if (mode === "link") await linkCopy(plan.tree, paths.staging, signal);
    if (mode === "full") mkdirSync(paths.staging, { mode: 0o755 });
    log.info(`Transferring the image captured on ${session.where} into ${plan.tree} (${level})...`);
    const spec = { tarPath: facts.tar?.path ?? "tar", root: facts.root, tmpdir: facts.tmpdir as string, snar, excludes: patterns };
    makeJailDir(paths.jail);
    try {
      result = await streamCapture(session, spec, target, {
        signal,
        log,
        estimate: level === "full" && !req.rootdir ? usedBytes(facts, mounts) : null,
        label: `capturing ${req.node}`,
        names: mode !== "full",
        jail: paths.jail,
        spool: paths.spool,
      });
    } finally {
      removeJailDir(paths.jail);
    }
    facts.tmpdir = null; // the node-side script removed it
    if (!req.keepIdentity) identityRemoved = await generalizeIdentity(target);
    if (req.type === "diskless") adjusted = await generalizeFstab(target);
    if (signal.aborted) throw abortReason(signal);
  } catch (e) {
    await removeTree(target);
    if (mode !== "full") touchTreeState(paths);
    throw e;
  }
  if (result.warnings.length) {
    log.warn(
      `the node's tar reported ${result.warnings.length} warning(s) (usually files that changed while being read; the image has them as they were then): ${result.warnings.slice(0, 3).join("; ")}`,
    );
  }
  if (identityRemoved.length) log.info(`Generalized the node's identity (--keep-identity keeps it): ${identityRemoved.join(", ")}`);
  if (adjusted.length) log.info(`Made the image diskless: ${adjusted.join(", ")}`);

  // commit: swap the tree in, write the tables (swapping back if that fails), then keep the
  // previous tree as the next capture's base/ (or drop it if it shares nothing with the new one)
  const hadTree = existsSync(plan.tree);
  const previousTop = hadTree && keepPrevious ? nodeTop(plan.tree) : null;
  sealNewTree(target, plan.tree); // image/tree-barrier.ts: root:root 0700 on the MN, the node's / recorded
  if (hadTree) await exchangeDirs(plan.tree, target, paths.aside);
  else renameSync(target, plan.tree);
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
      identity: { kept: req.keepIdentity, removed: identityRemoved, disklessAdjusted: adjusted },
      tarVersion: facts.tar?.version ?? "",
      ...result,
      seconds: (finished.getTime() - started.getTime()) / 1000,
    });
  } catch (e) {
    if (hadTree) await exchangeDirs(plan.tree, target, paths.aside);
    else renameSync(plan.tree, target);
    await removeTree(target);
    throw e;
  }
  let rollback: string | null = null;
  if (hadTree && previousTop) {
    // a forced replace of a guarded tree: the previous one is the rollback point, not base/
    rollback = await keepRollback(plan.tree, target, previousTop, paths.aside, removeTree);
    stateTreeToBase(paths, false);
    log.info(`Kept the previous tree as ${rollback} (docs/capture.md, "Rollback point")`);
  } else if (hadTree && mode === "full") {
    await removeTree(target);
    stateTreeToBase(paths, false);
  } else if (hadTree) {
    if (target !== paths.base) {
      await removeTree(paths.base);
      renameSync(target, paths.base);
    }
    stateTreeToBase(paths, true);
  }
  // what this capture changed, for the next one to replay into base/
  const changed = result.names ? [...result.names, ...[...identityRemoved, ...adjusted].map((r) => r.replace(/^\//, "").replace(/ \(.*\)$/, ""))] : null;
  writeTreeState(paths, key, result.snar, changed);

  const seconds = (Date.now() - started.getTime()) / 1000;
  const what =
    level === "full" ? `${result.files} files, ${result.dirs} directories` : `${result.files} files new or changed, ${result.dirs} directories checked`;
  const summary = `Captured ${req.node} into image ${plan.name} (${plan.tree}): ${level}, ${what}, ${formatBytes(result.bytes)} in ${seconds.toFixed(1)} s`;
  log.info("Done.");
  const { snar: _snapshot, names: _names, ...counts } = result;
  return {
    ...counts,
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
    disklessAdjusted: adjusted,
    excludedMounts,
    kernels: facts.kernels,
    rollback,
    summary,
  };
}
