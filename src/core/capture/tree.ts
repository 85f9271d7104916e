import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsError, IOFailure } from "../errors";
import type { Logger } from "../log";
import { abortReason } from "../remote/ssh";

/**
 * The image tree on the management node and the files around it. A capture never writes into
 * the live tree: it builds `.xcimg-staging.<tree>.<pid>` next to it (for an incremental
 * capture, a hardlink copy of the live tree that GNU tar then changes by unlinking and
 * recreating, so the live tree's inodes are never written), and swaps it in at the end.
 * Beside the tree lives the state of the last capture: GNU tar's snapshot file (what the node
 * looked like) and a JSON record of how it was captured.
 */
export interface TreePaths {
  tree: string;
  parent: string;
  staging: string;
  snar: string;
  state: string;
}

export function treePaths(tree: string): TreePaths {
  const parent = dirname(tree);
  const base = basename(tree);
  return {
    tree,
    parent,
    staging: join(parent, `.xcimg-staging.${base}.${process.pid}`),
    snar: join(parent, `.xcimg-capture.${base}.snar`),
    state: join(parent, `.xcimg-capture.${base}.json`),
  };
}

/** How the last capture was made; an incremental capture must be made the same way. */
export interface CaptureState {
  version: 1;
  node: string;
  rootdir: string;
  excludes: string[];
  identity: "generalized" | "kept";
  /** Identity of the tree directory the snapshot describes. */
  tree: { dev: number; ino: number };
  snarSha256: string;
  finished: string;
}

export type StateKey = Pick<CaptureState, "node" | "rootdir" | "excludes" | "identity">;

/**
 * Leftovers of a capture that was killed (SIGKILL, power loss): staging trees are removed;
 * if the tree itself is missing because the process died between the two renames of the
 * fallback swap, the previous tree is put back.
 */
export async function recoverLeftovers(p: TreePaths, log: Logger): Promise<void> {
  const base = basename(p.tree);
  let names: string[] = [];
  try {
    names = readdirSync(p.parent);
  } catch {
    return; // no parent yet: nothing left over
  }
  const staging = names.filter((n) => n.startsWith(`.xcimg-staging.${base}.`));
  const old = names.filter((n) => n.startsWith(`.xcimg-old.${base}.`));
  if (!existsSync(p.tree) && old.length > 0) {
    renameSync(join(p.parent, old[0] as string), p.tree);
    log.warn(`restored ${p.tree} from ${old[0]} (a previous capture was interrupted while swapping it)`);
    old.shift();
  }
  for (const n of [...staging, ...old]) {
    log.info(`removing ${join(p.parent, n)} left by an interrupted capture`);
    await removeTree(join(p.parent, n));
  }
}

export function readState(p: TreePaths): CaptureState | null {
  try {
    const s = JSON.parse(readFileSync(p.state, "utf8")) as CaptureState;
    return s.version === 1 ? s : null;
  } catch {
    return null;
  }
}

/** Why the next capture must be a full one, or null when an incremental one is safe. */
export function fullCaptureReason(p: TreePaths, want: StateKey): string | null {
  if (!existsSync(p.tree)) return "no previous image";
  const s = readState(p);
  if (!s) return "no record of a previous xcimg capture of this tree";
  let snar: Buffer;
  try {
    snar = readFileSync(p.snar);
  } catch {
    return "the snapshot file of the previous capture is missing";
  }
  if (createHash("sha256").update(snar).digest("hex") !== s.snarSha256) return "the snapshot file does not match the previous capture";
  const st = statSync(p.tree);
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

/**
 * The first entry of the tree changed on this management node since the last capture ended
 * (ctime newer than the state file), or null. Such a change would not be undone by an
 * incremental capture, which only sends what changed on the node.
 */
export async function localChange(p: TreePaths, signal: AbortSignal): Promise<string | null> {
  const r = await run(["find", p.tree, "-cnewer", p.state, "-print", "-quit"], signal);
  if (r.code !== 0) return null;
  const line = r.stdout.split("\n")[0] ?? "";
  return line ? line : null;
}

/** Hardlink copy of the live tree (GNU cp -al: directories are new, everything else is linked). */
export async function linkCopy(from: string, to: string, signal: AbortSignal): Promise<void> {
  const r = await run(["cp", "-a", "-l", "-T", "--", from, to], signal);
  if (r.code !== 0) {
    const nospc = /No space left|Too many links/i.test(r.stderr);
    throw new IOFailure(`cannot make a hardlink copy of ${from}: ${firstLine(r.stderr)}`, {
      hint: nospc ? "free some space (or inodes) under installdir" : undefined,
    });
  }
}

export async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const r = await run(["rm", "-rf", "--one-file-system", "--", path]);
  if (r.code !== 0) throw new IOFailure(`cannot remove ${path}: ${firstLine(r.stderr)}`);
}

/** Record a finished capture: the snapshot file, then the state that names its checksum. */
export function writeState(p: TreePaths, key: StateKey, snar: Buffer): void {
  const st = statSync(p.tree);
  const state: CaptureState = {
    version: 1,
    ...key,
    tree: { dev: st.dev, ino: st.ino },
    snarSha256: createHash("sha256").update(snar).digest("hex"),
    finished: new Date().toISOString(),
  };
  try {
    writeFileSync(`${p.snar}.tmp`, snar, { mode: 0o600 });
    renameSync(`${p.snar}.tmp`, p.snar);
    writeFileSync(`${p.state}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
    renameSync(`${p.state}.tmp`, p.state);
  } catch (e) {
    throw fsError(e, `cannot write the capture state next to ${p.tree}`);
  }
}

/**
 * After a failed incremental capture: our hardlink copy and its removal changed the link
 * counts (hence ctimes) of the live tree's files. The tree itself is unchanged, so move the
 * state's timestamp forward to keep the next capture incremental.
 */
export function touchState(p: TreePaths): void {
  try {
    const now = new Date();
    utimesSync(p.state, now, now);
  } catch {
    // no state: the next capture is a full one anyway
  }
}

export function isRealDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}

/** Run a local tool; killed if the signal fires. */
export function run(argv: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < 1 << 20) stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 1 << 16) stderr += d.toString("utf8");
    });
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      signal?.removeEventListener("abort", onAbort);
      reject(new IOFailure(`cannot run ${argv[0]}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) return reject(abortReason(signal));
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
