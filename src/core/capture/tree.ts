import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsError, IOFailure } from "../errors";
import type { Logger } from "../log";
import { runTool } from "../proc/run-tool";
import { removeJailDir } from "./confine";

/**
 * The image tree on the management node and its capture work area. A capture never writes
 * into the live tree: it builds the new tree beside it and swaps it in with one rename. The
 * work area `.xcimg-capture.<tree>/` (same filesystem) holds
 *   base/              the previous tree, kept after a swap. Its files are hardlinks shared
 *                      with the live tree except those that changed in the last capture, so it
 *                      costs little space, and the next capture updates it into the new tree
 *                      (GNU tar unlinks before writing: shared inodes are never written).
 *                      This makes a re-capture cost what changed, not the size of the tree.
 *   tree.snar/.json    GNU tar's snapshot of the node for the live tree, and how it was made
 *   tree.changes       the paths the capture that made the live tree changed (NUL-separated):
 *                      replaying them from the live tree brings base/ up to date before the
 *                      next capture, so it only receives what changed since the live tree
 *   base.snar/.json    the same for base/
 *   staging.<pid>/     a tree being built when there is no usable base (first re-capture:
 *                      a hardlink copy of the live tree; full capture: empty)
 *   snar.<pid>         the node's new snapshot while it arrives (node-stderr.ts)
 *   jail.<pid>/        an empty directory: the extracting tar's jail is mounted on it, in
 *                      that tar's own mount namespace only (confine.ts)
 */
export interface TreePaths {
  tree: string;
  work: string;
  base: string;
  staging: string;
  aside: string;
  jail: string;
  spool: string;
}

export function treePaths(tree: string): TreePaths {
  const work = join(dirname(tree), `.xcimg-capture.${basename(tree)}`);
  return {
    tree,
    work,
    base: join(work, "base"),
    staging: join(work, `staging.${process.pid}`),
    aside: join(work, `aside.${process.pid}`),
    jail: join(work, `jail.${process.pid}`),
    spool: join(work, `snar.${process.pid}`),
  };
}

/** How a tree was captured; an incremental capture must be made the same way. */
export interface CaptureState {
  version: 1;
  node: string;
  rootdir: string;
  excludes: string[];
  identity: "generalized" | "kept";
  /** Identity of the directory the snapshot describes. */
  tree: { dev: number; ino: number };
  snarSha256: string;
  /** sha256 of tree.changes, or null when the capture recorded none (full captures). */
  changesSha256: string | null;
  finished: string;
}

/**
 * The live tree's state file: written after the new tree is swapped in, touched after a failed
 * attempt's hardlink work. An entry of the tree with a later ctime was changed on this
 * management node after the capture (localChange below, and the manifest: provenance/pending.ts).
 */
export function treeStateFile(tree: string): string {
  return stateFile(treePaths(tree), "tree");
}

export type StateKey = Pick<CaptureState, "node" | "rootdir" | "excludes" | "identity">;
type Which = "tree" | "base";

const stateFile = (p: TreePaths, w: Which) => join(p.work, `${w}.json`);
const snarFile = (p: TreePaths, w: Which) => join(p.work, `${w}.snar`);
const changesFile = (p: TreePaths) => join(p.work, "tree.changes");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const dirOf = (p: TreePaths, w: Which) => (w === "tree" ? p.tree : p.base);

/**
 * Leftovers of a capture that was killed (SIGKILL, power loss): staging trees go; if the tree
 * itself is missing because the process died between the two renames of the fallback swap,
 * the aside copy is put back.
 */
export async function recoverLeftovers(p: TreePaths, log: Logger): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(p.work);
  } catch {
    return;
  }
  const aside = names.filter((n) => n.startsWith("aside."));
  if (!existsSync(p.tree) && aside.length > 0) {
    renameSync(join(p.work, aside[0] as string), p.tree);
    log.warn(`restored ${p.tree} (a capture was interrupted while swapping it in)`);
    aside.shift();
  }
  for (const n of names.filter((n) => n.startsWith("jail."))) removeJailDir(join(p.work, n));
  for (const n of names.filter((n) => /^snar\.\d+$/.test(n))) rmSync(join(p.work, n), { force: true });
  for (const n of [...names.filter((n) => n.startsWith("staging.")), ...aside]) {
    log.info(`removing ${join(p.work, n)}, left by an interrupted capture`);
    await removeTree(join(p.work, n));
  }
}

function readState(p: TreePaths, w: Which): CaptureState | null {
  try {
    const s = JSON.parse(readFileSync(stateFile(p, w), "utf8")) as CaptureState;
    return s.version === 1 ? s : null;
  } catch {
    return null;
  }
}

/** Why `w` cannot be the starting point of an incremental capture, or null when it can. */
export function unusableReason(p: TreePaths, w: Which, want: StateKey): string | null {
  const dir = dirOf(p, w);
  if (!existsSync(dir)) return w === "tree" ? "no previous image" : "no previous tree kept";
  const s = readState(p, w);
  if (!s) return "no record of a previous xcimg capture of this tree";
  let snar: Buffer;
  try {
    snar = readFileSync(snarFile(p, w));
  } catch {
    return "the snapshot file of the previous capture is missing";
  }
  if (sha256(snar) !== s.snarSha256) return "the snapshot file does not match the previous capture";
  const st = statSync(dir);
  if (st.dev !== s.tree.dev || st.ino !== s.tree.ino) return "the image directory was replaced since the previous capture";
  if (s.node !== want.node) return `the previous capture was of ${s.node}`;
  if (s.rootdir !== want.rootdir) return `the previous capture was of ${s.rootdir}`;
  if (s.identity !== want.identity) return `the previous capture ${s.identity === "kept" ? "kept" : "generalized"} the node's identity`;
  // Any change needs a full pass. Excluding less: files left out before would never be sent.
  // Excluding more: tar lists excluded names in a directory's record as present-but-unsent,
  // so the copies captured before would never be deleted.
  const dropped = s.excludes.find((x) => !want.excludes.includes(x));
  if (dropped) return `'${dropped}' is no longer excluded`;
  const added = want.excludes.find((x) => !s.excludes.includes(x));
  if (added) return `'${added}' is newly excluded`;
  return null;
}

export function readSnar(p: TreePaths, w: Which): Buffer {
  return readFileSync(snarFile(p, w));
}

/** The paths (binary strings) the live tree's capture changed, or null if not recorded. */
export function readChanges(p: TreePaths): string[] | null {
  const s = readState(p, "tree");
  if (!s?.changesSha256) return null;
  let buf: Buffer;
  try {
    buf = readFileSync(changesFile(p));
  } catch {
    return null;
  }
  if (sha256(buf) !== s.changesSha256) return null;
  return buf.toString("latin1").split("\0").filter(Boolean);
}

/**
 * The first entry of the live tree changed on this management node since the last capture
 * (ctime newer than its state file), or null. An incremental capture only sends what changed
 * on the node, so it would keep such an edit; a full capture undoes it. ctime catches edits,
 * creations, removals, renames, chmod, chown and xattr changes, and is set by this machine's
 * clock (mtimes come from the node's). Our own hardlink work moves ctimes too: it happens
 * before the state is written, or the state is touched after a failed attempt.
 */
export async function localChange(p: TreePaths, signal: AbortSignal): Promise<string | null> {
  // pack writes opt/xcat/xcatinfo into the tree (xCAT's packimage does too); that is ours,
  // not an admin's edit, and must not turn every capture after a pack into a full one
  const ours = PACK_WRITES.flatMap((rel) => ["!", "-path", join(p.tree, rel)]);
  const r = await runTool(["find", p.tree, ...ours, "-cnewer", stateFile(p, "tree"), "-print", "-quit"], { signal });
  if (r.code !== 0) return null;
  return r.stdout.split("\n")[0] || null;
}

/** Paths xcimg itself writes into a captured tree (and their parent directories); "." is the tree's top, closed by image/tree-barrier.ts. */
const PACK_WRITES = [".", "opt", "opt/xcat", "opt/xcat/xcatinfo"];

/** Hardlink copy of the live tree (GNU cp -al: directories are new, everything else is linked). */
export async function linkCopy(from: string, to: string, signal: AbortSignal): Promise<void> {
  const r = await runTool(["cp", "-a", "-l", "-T", "--", from, to], { signal });
  if (r.code !== 0) {
    const nospc = /No space left|Too many links/i.test(r.stderr);
    throw new IOFailure(`cannot make a hardlink copy of ${from}: ${firstLine(r.stderr)}`, {
      hint: nospc ? "free some space (or inodes) under installdir" : undefined,
    });
  }
}

export async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const r = await runTool(["rm", "-rf", "--one-file-system", "--", path]);
  if (r.code !== 0) throw new IOFailure(`cannot remove ${path}: ${firstLine(r.stderr)}`);
}

export function ensureWork(p: TreePaths): void {
  try {
    mkdirSync(p.work, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${p.work}`);
  }
}

/** Forget what `w` was: it is no longer a valid starting point. */
export function dropState(p: TreePaths, w: Which): void {
  rmSync(stateFile(p, w), { force: true });
  rmSync(snarFile(p, w), { force: true });
}

/**
 * After a failed attempt: our hardlink work changed the link counts (hence ctimes) of the live
 * tree's files, but not the tree itself; move its state's time forward so the next capture is
 * still incremental.
 */
export function touchTreeState(p: TreePaths): void {
  const f = stateFile(p, "tree");
  try {
    // Rewritten, not utimes(new Date()): the file gets its time from the kernel's clock, the
    // one that stamped those ctimes, so it is never older than they are. A JavaScript Date is
    // cut to the millisecond, and a ctime set in the same millisecond was then "newer" than
    // the state: the next capture went full (seen in CI after capture-hostile's attacks).
    const text = readFileSync(f);
    writeFileSync(`${f}.tmp`, text, { mode: 0o644 });
    renameSync(`${f}.tmp`, f);
  } catch {
    // no state: the next capture is a full one anyway
  }
}

/** After a swap: the previous tree's record becomes base's (the base directory now holds it). */
export function stateTreeToBase(p: TreePaths, previousWasValid: boolean): void {
  dropState(p, "base");
  if (!previousWasValid) {
    dropState(p, "tree");
    return;
  }
  try {
    renameSync(snarFile(p, "tree"), snarFile(p, "base"));
    renameSync(stateFile(p, "tree"), stateFile(p, "base"));
  } catch {
    dropState(p, "base");
  }
  rmSync(changesFile(p), { force: true });
}

/** Record a finished capture of the live tree: snapshot and changes, then the state naming their checksums. */
export function writeTreeState(p: TreePaths, key: StateKey, snar: Buffer, changes: string[] | null): void {
  const st = statSync(p.tree);
  const list = changes ? Buffer.from(changes.map((c) => `${c}\0`).join(""), "latin1") : null;
  const state: CaptureState = {
    version: 1,
    ...key,
    tree: { dev: st.dev, ino: st.ino },
    snarSha256: sha256(snar),
    changesSha256: list ? sha256(list) : null,
    finished: new Date().toISOString(),
  };
  try {
    if (list) {
      writeFileSync(`${changesFile(p)}.tmp`, list, { mode: 0o600 });
      renameSync(`${changesFile(p)}.tmp`, changesFile(p));
    } else rmSync(changesFile(p), { force: true });
    writeFileSync(`${snarFile(p, "tree")}.tmp`, snar, { mode: 0o600 });
    renameSync(`${snarFile(p, "tree")}.tmp`, snarFile(p, "tree"));
    writeFileSync(`${stateFile(p, "tree")}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
    renameSync(`${stateFile(p, "tree")}.tmp`, stateFile(p, "tree"));
  } catch (e) {
    throw fsError(e, `cannot write the capture state in ${p.work}`);
  }
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}
