import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statfsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DataError, fsError, InterruptedError, IOFailure, RemoteError } from "../errors";
import { fsyncDir } from "../fs/atomic";
import { exchangeDirs } from "../fs/swap";
import { MANIFEST_FILE, SIGNATURE_SUFFIX } from "../provenance/manifest";
import { digestFile } from "../provenance/tree-digest";
import { linkFarm } from "./link-farm";
import { dropPartials, partialDirOf, preparePartialRoot } from "./partial";
import { type RsyncProgress, type RsyncStats, remotePath, rsyncPull } from "./rsync";

/**
 * One image's directory pulled from the management node and switched in whole. rsync fills a
 * staged sibling (`.<dir>.xcimg-sn-new`, hidden from the web server by its leading dot) whose
 * unchanged files are hard links of the served generation (--link-dest), so only changed
 * files cross the network; the staged files are checked against the image manifest's SHA-256
 * digests when the MN has one (docs/provenance.md); then renameat2(RENAME_EXCHANGE) swaps the
 * staged directory and the served one in one step (core/fs/swap.ts) and the old generation
 * is removed (renamed aside and kept instead for an NFS root: PullJob.keepOld). A sync killed anywhere before the exchange leaves the served directory as it
 * was; the next sync starts its staged copy afresh (a half-filled one could share inodes with
 * the served files, and rsync changing a shared file's mode would change the served one). What
 * it resumes is the file rsync was receiving when a signal or a lost connection stopped it:
 * rsync keeps that fresh file in a partial dir outside the staged copy (core/sn/partial.ts) and
 * the next sync uses it as the basis for that file. Partials go once the image is switched in
 * or found unchanged, and on any failure that is not an interruption (a full disk, a digest).
 */
export interface ImagePull {
  image: string;
  /** Source on the MN. */
  from: string;
  /** Where it is served on this SN. */
  dir: string;
  stats: RsyncStats;
  /** Artifacts checked against the manifest, by name. */
  verified: string[];
  switched: boolean;
  /** PullJob.keepOld: where the generation it replaced is kept for the nodes that still mount it. */
  kept?: string;
  /** rsync found nothing to change: the served generation stays, nothing was staged. */
  unchanged?: boolean;
  /**
   * Seconds per phase (docs/bench/sn.md): compare (the dry run against what is served),
   * transfer (staging with --link-dest, own dirs, manifest), verify (manifest digests, trust),
   * switch (the exchanges) and removeOld (deleting the replaced generation).
   */
  seconds: Partial<Record<"compare" | "transfer" | "verify" | "switch" | "removeOld", number>>;
}

/** Time one phase of a pull into `into`. */
async function timed<T>(into: ImagePull["seconds"], phase: keyof ImagePull["seconds"], f: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    into[phase] = Math.round(performance.now() - t0) / 1000 + (into[phase] ?? 0);
  }
}

/** Work files of MN-side commands that must never reach an SN. */
const EXCLUDES = [".*.xcimg-tmp.*", ".xcimg-capture.*", ".xcimg/locks/"];

function stagedDirOf(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.xcimg-sn-new`);
}

/** A replaced NFS-root generation, beside the served one and hidden from the web server by the dot; the time says which is older. */
export function keptGenerationOf(dir: string, now = new Date()): string {
  return join(dirname(dir), `.${basename(dir)}.xcimg-sn-kept.${now.toISOString().replace(/[-:.]/g, "")}`);
}

export interface PullJob {
  image: string;
  host: string;
  /** The directory on the MN; null when the MN has none (the staged copy starts empty). */
  from: string | null;
  dir: string;
  /**
   * Nodes mount the served tree itself over NFS (statelite without a ramdisk): the generation
   * the switch replaces is renamed aside and kept, not removed. An NFS client's handles name
   * inodes, not paths, so nodes running on it keep a working root (with the default
   * no_subtree_check export option) until they reboot into the new one; removing it would
   * leave them with stale handles on their root file system.
   */
  keepOld?: boolean;
  /** The root of the partial dirs (partialRoot(cfg)): where an interrupted transfer's file waits for the next sync. */
  partials: string;
  ssh: string[];
  dryRun: boolean;
  signal?: AbortSignal;
  /** The transfer's progress, for a progress line: percent of the image's data, rate. */
  onProgress?: (p: RsyncProgress) => void;
  /** Adds this SN's own files to the staged copy before it is switched in. */
  prepare?(staged: string): void;
  /**
   * The directories the image's method keeps outside the image directory (its facts'
   * ownFiles: sysclone's clone/<image> with the disk archive nodes fetch), each staged and
   * switched the same way, after the image directory's digests and theirs are checked.
   */
  own?: OwnDir[];
  /** A manifest artifact that is not under the image directory: where its staged copy is. */
  resolve?(rel: string): string | undefined;
  /**
   * The image manifest when it lives beside the image directory, not in it (an image whose
   * directory is its tree keeps `<dir>.xcimg-manifest.json`): fetched, checked against, and put
   * in place after the switch. from null: the MN has none.
   */
  manifest?: { from: string | null; dest: string; signed?: boolean };
  /**
   * This SN's [trust] policy on the image manifest that arrived (null: the MN has none), judged
   * after the digests and before anything is switched in; throws to refuse the image
   * (core/sn/trust.ts). Unset: not judged ([trust] require = "off", and the postscripts).
   */
  trust?(manifest: PulledManifest | null): void;
}

export interface PulledManifest {
  text: string;
  /** The armored SSH signature beside it (`<manifest>.sig`), or null. */
  signature: string | null;
}

export interface OwnDir {
  /** On the MN; null when the MN has none yet (nothing is pulled, the served copy stays). */
  from: string | null;
  /** Where it is served on this SN. */
  dir: string;
  /** Where it is staged: on the same filesystem as dir (the exchange is a rename). */
  staged: string;
}

export async function pullImage(o: PullJob): Promise<ImagePull> {
  const source = o.from === null ? null : remotePath(o.host, `${o.from.replace(/\/+$/, "")}/`);
  const result: ImagePull = {
    image: o.image,
    from: o.from ?? "",
    dir: o.dir,
    stats: { received: 0, filesTransferred: 0, transferredSize: 0, changes: [] },
    verified: [],
    switched: false,
    seconds: {},
  };
  if (o.dryRun) {
    // compared with what is served now: exactly what a real run would fetch
    if (source) result.stats = await rsyncPull({ ssh: o.ssh, source, dest: `${o.dir}/`, dryRun: true, delete: true, excludes: EXCLUDES, signal: o.signal });
    for (const d of o.own ?? []) {
      if (!d.from) continue;
      const src = remotePath(o.host, `${d.from.replace(/\/+$/, "")}/`);
      add(result.stats, await rsyncPull({ ssh: o.ssh, source: src, dest: `${d.dir}/`, dryRun: true, delete: true, excludes: EXCLUDES, signal: o.signal }));
    }
    return result;
  }
  // the usual timer-driven sync changes nothing: compare first, and skip staging a hard-link
  // copy of every file, re-reading every artifact and the exchange (docs/bench/sn.md)
  const probe: RsyncStats = { received: 0, filesTransferred: 0, transferredSize: 0, changes: [] };
  const own = (o.own ?? []).filter((d) => d.from !== null);
  // every served directory this pull may leave a partial for (a sysclone image's archive is in its own dir)
  const partialsOf = [o.dir, ...own.map((d) => d.dir)];
  // what the comparison found per destination: the served image directory's list stages the link farm
  const found = new Map<string, string[]>();
  if (await timed(result.seconds, "compare", () => unchanged(o, source, probe, found))) {
    // the MN went back to what is served: a partial of another version helps no one
    dropPartials(o.partials, partialsOf);
    result.stats = { ...probe, filesTransferred: 0, changes: [] };
    result.unchanged = true;
    return result;
  }
  const staged = stagedDirOf(o.dir);
  try {
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(dirname(o.dir), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot prepare ${staged}`);
  }
  preparePartialRoot(o.partials);
  let manifest = join(staged, MANIFEST_FILE);
  let t0 = performance.now();
  const phase = (name: keyof ImagePull["seconds"]) => {
    const now = performance.now();
    result.seconds[name] = Math.round(now - t0) / 1000;
    t0 = now;
  };
  try {
    if (source) {
      const listed = found.get(`${o.dir}/`);
      const farm = existsSync(o.dir) && listed !== undefined && (await linkFarm(o.dir, staged, listed, o.signal));
      result.stats = await rsyncPull({
        ssh: o.ssh,
        source,
        dest: `${staged}/`,
        linkDest: !farm && existsSync(o.dir) ? o.dir : undefined,
        partialDir: partialDirOf(o.partials, o.dir),
        delete: true,
        excludes: EXCLUDES,
        signal: o.signal,
        onProgress: o.onProgress,
      });
    } else {
      mkdirSync(staged, { mode: 0o755 });
    }
    for (const d of own) add(result.stats, await stageOwn(o, d));
    result.stats.received += probe.received; // the comparison crossed the wire too
    if (o.manifest?.from) {
      manifest = `${staged}.manifest`;
      add(result.stats, await rsyncPull({ ssh: o.ssh, source: remotePath(o.host, o.manifest.from), dest: manifest, signal: o.signal }));
      rmSync(manifest + SIGNATURE_SUFFIX, { force: true });
      if (o.manifest.signed)
        add(
          result.stats,
          await rsyncPull({ ssh: o.ssh, source: remotePath(o.host, o.manifest.from + SIGNATURE_SUFFIX), dest: manifest + SIGNATURE_SUFFIX, signal: o.signal }),
        );
    }
    phase("transfer");
    result.verified = verifyArtifacts(staged, o.image, manifest, o.resolve);
    o.trust?.(pulledManifest(manifest));
    o.prepare?.(staged);
    phase("verify");
  } catch (e) {
    // nothing was switched in; a staged copy is never resumed (the next sync starts afresh), so
    // keeping it would only hold the disk space a full disk needs back
    for (const p of [staged, `${staged}.manifest`, `${staged}.manifest${SIGNATURE_SUFFIX}`, ...own.map((d) => d.staged)])
      rmSync(p, { recursive: true, force: true });
    const full = e instanceof Error && /No space left on device|ENOSPC/.test(e.message);
    // the partial is kept only for what stopped the transfer from outside (a signal, the MN
    // lost), which the next sync resumes; after a full disk it would keep the disk full, and
    // after a digest or trust failure its data is suspect
    if (full || !(e instanceof InterruptedError || e instanceof RemoteError)) dropPartials(o.partials, partialsOf);
    if (full) throw diskFull(dirname(o.dir), e as Error);
    throw e;
  }
  if (existsSync(o.dir)) {
    await exchangeDirs(o.dir, staged, `${staged}.aside`);
    phase("switch");
    if (o.keepOld) {
      // after the exchange `staged` is the old generation: the same inodes its nodes hold
      const kept = keptGenerationOf(o.dir);
      try {
        renameSync(staged, kept);
      } catch (e) {
        throw fsError(e, `cannot keep the previous generation of ${o.dir} at ${kept}`);
      }
      result.kept = kept;
    } else {
      rmSync(staged, { recursive: true, force: true });
      phase("removeOld");
    }
  } else {
    try {
      renameSync(staged, o.dir);
    } catch (e) {
      throw fsError(e, `cannot move ${staged} to ${o.dir}`);
    }
  }
  fsyncDir(dirname(o.dir));
  // the image directory first: a node sent to the new archive by its boot files meets it only
  // after the loader files are re-rendered, which comes after this (sn sync's render step)
  for (const d of own) await timed(result.seconds, "switch", () => switchIn(d.dir, d.staged));
  if (o.manifest?.from) {
    try {
      renameSync(manifest, o.manifest.dest);
      // the signature goes with its manifest; an old one beside a new unsigned manifest would be a lie
      if (existsSync(manifest + SIGNATURE_SUFFIX)) renameSync(manifest + SIGNATURE_SUFFIX, o.manifest.dest + SIGNATURE_SUFFIX);
      else rmSync(o.manifest.dest + SIGNATURE_SUFFIX, { force: true });
    } catch (e) {
      throw fsError(e, `cannot move ${manifest} to ${o.manifest.dest}`);
    }
  }
  // rsync consumed the partials it resumed; one for a file that did not come again (removed on the MN) would stay forever
  dropPartials(o.partials, partialsOf);
  result.switched = true;
  return result;
}

/** A full disk, said as one: where, how much is free now that the staged copy is gone, and why a sync needs room. */
function diskFull(dir: string, cause: Error): IOFailure {
  let free = "";
  try {
    const fs = statfsSync(dir);
    free = ` (${Math.floor((fs.bavail * fs.bsize) / 1048576)} MiB free)`;
  } catch {
    // the size is a courtesy
  }
  return new IOFailure(`the disk holding ${dir} is full${free}: a sync stages the new generation beside the served one, which stays`, {
    hint: "free space there, or give the SN's installdir a larger disk, then run 'xcimg sn sync' again",
    cause,
  });
}

/** True when rsync would change nothing in the served directory, its own dirs and its manifest. */
async function unchanged(o: PullJob, source: string | null, stats: RsyncStats, found: Map<string, string[]>): Promise<boolean> {
  // no directory on the MN (an install image): the served one is what an earlier sync made
  if (!source && !existsSync(o.dir)) return false;
  const jobs: { source: string; dest: string }[] = source ? [{ source, dest: `${o.dir}/` }] : [];
  for (const d of o.own ?? []) if (d.from) jobs.push({ source: remotePath(o.host, `${d.from.replace(/\/+$/, "")}/`), dest: `${d.dir}/` });
  if (o.manifest?.from) jobs.push({ source: remotePath(o.host, o.manifest.from), dest: o.manifest.dest });
  for (const j of jobs) {
    if (!existsSync(j.dest)) return false;
    const s = await rsyncPull({ ssh: o.ssh, source: j.source, dest: j.dest, dryRun: true, delete: true, excludes: EXCLUDES, signal: o.signal });
    add(stats, s);
    found.set(j.dest, s.changes);
    if (s.changes.length || s.filesTransferred) return false;
  }
  return true;
}

async function stageOwn(o: PullJob, d: OwnDir): Promise<RsyncStats> {
  try {
    rmSync(d.staged, { recursive: true, force: true });
    mkdirSync(dirname(d.staged), { recursive: true, mode: 0o700 });
    mkdirSync(dirname(d.dir), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot prepare ${d.staged}`);
  }
  return rsyncPull({
    ssh: o.ssh,
    source: remotePath(o.host, `${(d.from as string).replace(/\/+$/, "")}/`),
    dest: `${d.staged}/`,
    linkDest: existsSync(d.dir) ? d.dir : undefined,
    partialDir: partialDirOf(o.partials, d.dir),
    delete: true,
    excludes: EXCLUDES,
    signal: o.signal,
  });
}

async function switchIn(dir: string, staged: string): Promise<void> {
  if (existsSync(dir)) {
    await exchangeDirs(dir, staged, `${staged}.aside`);
    rmSync(staged, { recursive: true, force: true });
  } else {
    try {
      renameSync(staged, dir);
    } catch (e) {
      throw fsError(e, `cannot move ${staged} to ${dir}`);
    }
  }
  fsyncDir(dirname(dir));
}

function add(into: RsyncStats, s: RsyncStats): void {
  into.received += s.received;
  into.filesTransferred += s.filesTransferred;
  into.transferredSize += s.transferredSize;
  into.changes.push(...s.changes);
}

/** Every artifact the image manifest lists must be in the staged copy with its digest. */
function verifyArtifacts(dir: string, image: string, mf: string, resolve?: (rel: string) => string | undefined): string[] {
  if (!existsSync(mf)) return [];
  let artifacts: Record<string, { sha256: string; size: number }>;
  try {
    artifacts = (JSON.parse(readFileSync(mf, "utf8")) as { artifacts?: typeof artifacts }).artifacts ?? {};
  } catch (e) {
    throw new DataError(`image ${image}: its manifest from the management node cannot be read: ${(e as Error).message}`);
  }
  const done: string[] = [];
  for (const [rel, want] of Object.entries(artifacts)) {
    if (rel.split("/").includes("..")) throw new DataError(`image ${image}: manifest names '${rel}', outside the image`);
    const inDir = join(dir, rel);
    const p = existsSync(inDir) ? inDir : (resolve?.(rel) ?? inDir);
    if (!existsSync(p))
      throw new DataError(`image ${image}: ${rel} is in its manifest but did not arrive`, { hint: "run 'xcimg image verify' on the management node" });
    const got = digestFile(p);
    if (got.sha256 !== want.sha256 || got.size !== want.size)
      throw new DataError(`image ${image}: ${rel} arrived with SHA-256 ${got.sha256}, its manifest says ${want.sha256}: not switched in`, {
        hint: "the file changed on the management node during the sync, or its manifest is stale ('xcimg image verify' there); sync again",
      });
    done.push(rel);
  }
  return done;
}

function pulledManifest(path: string): PulledManifest | null {
  if (!existsSync(path)) return null;
  const sig = path + SIGNATURE_SUFFIX;
  return { text: readFileSync(path, "utf8"), signature: existsSync(sig) ? readFileSync(sig, "utf8") : null };
}
