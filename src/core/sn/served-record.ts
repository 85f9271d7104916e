import { mkdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { stateDir } from "../boot/paths";
import type { Config } from "../config/schema";
import { fsError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";

/**
 * What `sn sync` put on this SN, kept in its private state directory (beside the database
 * copy, never under a served tree): every image's directories and files that a sync switched
 * in or published, and every node's boot files a sync rendered. `sn sync --prune`
 * (core/sn/prune.ts) removes only what this record names, so a directory an admin made under
 * installdir, or a file another command wrote, is never touched. Each sync rewrites it
 * atomically: what it serves now, plus what it holds but no longer serves and has not pruned.
 */
export interface ServedRecord {
  images: Record<string, RecordedImage>;
  nodes: Record<string, RecordedNode>;
}

export interface RecordedImage {
  /** Directories a sync switched in (the image's, its method's own, its shared media) or published (tftpdir's osimage/<image>). */
  dirs: string[];
  /** Single files beside them (a manifest kept outside the image directory, its signature). */
  files: string[];
  /** Its nodes mount the tree itself over NFS (the method's facts): running nodes may hold it open. */
  nfsRoot?: boolean;
  /** Generations a switch replaced and kept for the nodes still mounting them over NFS (image-pull.ts keepOld). */
  kept?: string[];
}

export interface RecordedNode {
  image: string;
  /** Every file a sync rendered for it, MAC and IP names included (a node deleted on the MN has no MAC left to read). */
  files: string[];
}

const empty = (): ServedRecord => ({ images: {}, nodes: {} });

export function servedRecordPath(cfg: Config): string {
  return join(stateDir(cfg), "sn-served.json");
}

const isPath = (p: unknown): p is string => typeof p === "string" && isAbsolute(p) && normalize(p) === p;
const paths = (v: unknown): string[] => (Array.isArray(v) ? v.filter(isPath) : []);

/**
 * The record, with anything that is not what a sync writes dropped. Absent or unreadable
 * (an SN from before the record existed, a hand edit): empty, so nothing is pruned — a
 * record that names too little only leaves files in place.
 */
export function readServedRecord(cfg: Config): ServedRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(servedRecordPath(cfg), "utf8"));
  } catch {
    return empty();
  }
  const out = empty();
  const r = (raw ?? {}) as { images?: unknown; nodes?: unknown };
  for (const [name, v] of Object.entries(typeof r.images === "object" && r.images ? r.images : {})) {
    const i = (v ?? {}) as Record<string, unknown>;
    const kept = paths(i.kept);
    out.images[name] = { dirs: paths(i.dirs), files: paths(i.files), ...(i.nfsRoot === true ? { nfsRoot: true } : {}), ...(kept.length ? { kept } : {}) };
  }
  for (const [name, v] of Object.entries(typeof r.nodes === "object" && r.nodes ? r.nodes : {})) {
    const n = (v ?? {}) as Record<string, unknown>;
    out.nodes[name] = { image: typeof n.image === "string" ? n.image : "", files: paths(n.files) };
  }
  return out;
}

export function writeServedRecord(cfg: Config, rec: ServedRecord): void {
  const dir = stateDir(cfg);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  writeFileAtomic(servedRecordPath(cfg), `${JSON.stringify({ images: sorted(rec.images), nodes: sorted(rec.nodes) }, null, 1)}\n`, 0o600, { fsync: true });
}
