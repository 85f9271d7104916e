import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DataError, fsError } from "../errors";
import { fsyncDir } from "../fs/atomic";
import { exchangeDirs } from "../fs/swap";
import { MANIFEST_FILE } from "../provenance/manifest";
import { digestFile } from "../provenance/tree-digest";
import { type RsyncStats, remotePath, rsyncPull } from "./rsync";

/**
 * One image's directory pulled from the management node and switched in whole. rsync fills a
 * staged sibling (`.<dir>.xcimg-sn-new`, hidden from the web server by its leading dot) whose
 * unchanged files are hard links of the served generation (--link-dest), so only changed
 * files cross the network; the staged files are checked against the image manifest's SHA-256
 * digests when the MN has one (docs/provenance.md); then renameat2(RENAME_EXCHANGE) swaps the
 * staged directory and the served one in one step (core/fs/swap.ts) and the old generation
 * is removed. A sync killed anywhere before the exchange leaves the served directory as it
 * was; the next sync starts its staged copy afresh (a half-filled one could share inodes with
 * the served files, and rsync changing a shared file's mode would change the served one).
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
}

/** Work files of MN-side commands that must never reach an SN. */
const EXCLUDES = [".*.xcimg-tmp.*", ".xcimg-capture.*", ".xcimg/locks/"];

function stagedDirOf(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.xcimg-sn-new`);
}

export interface PullJob {
  image: string;
  host: string;
  /** The directory on the MN; null when the MN has none (the staged copy starts empty). */
  from: string | null;
  dir: string;
  ssh: string[];
  dryRun: boolean;
  signal?: AbortSignal;
  /** Adds this SN's own files to the staged copy before it is switched in. */
  prepare?(staged: string): void;
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
  };
  if (o.dryRun && source) {
    // compared with what is served now: exactly what a real run would fetch
    result.stats = await rsyncPull({ ssh: o.ssh, source, dest: `${o.dir}/`, dryRun: true, delete: true, excludes: EXCLUDES, signal: o.signal });
    return result;
  }
  if (o.dryRun) return result;
  const staged = stagedDirOf(o.dir);
  try {
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(dirname(o.dir), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot prepare ${staged}`);
  }
  if (source) {
    result.stats = await rsyncPull({
      ssh: o.ssh,
      source,
      dest: `${staged}/`,
      linkDest: existsSync(o.dir) ? o.dir : undefined,
      delete: true,
      excludes: EXCLUDES,
      signal: o.signal,
    });
  } else {
    mkdirSync(staged, { mode: 0o755 });
  }
  result.verified = verifyArtifacts(staged, o.image);
  o.prepare?.(staged);
  if (existsSync(o.dir)) {
    await exchangeDirs(o.dir, staged, `${staged}.aside`);
    rmSync(staged, { recursive: true, force: true });
  } else {
    try {
      renameSync(staged, o.dir);
    } catch (e) {
      throw fsError(e, `cannot move ${staged} to ${o.dir}`);
    }
  }
  fsyncDir(dirname(o.dir));
  result.switched = true;
  return result;
}

/** Every artifact the image manifest lists must be in the staged copy with its digest. */
function verifyArtifacts(dir: string, image: string): string[] {
  const mf = join(dir, MANIFEST_FILE);
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
    const p = join(dir, rel);
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
