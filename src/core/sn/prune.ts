import { lstatSync, readlinkSync } from "node:fs";
import { Grub2Links, removeNodeBootFiles, rmQuiet } from "../boot/loader-files";
import { writeNodeAcl } from "../boot/node-acl";
import { bootPaths } from "../boot/paths";
import type { Config } from "../config/schema";
import { XcimgError } from "../errors";
import { StagedRemoval } from "../fs/removal";
import { isInside } from "../image/paths";
import type { Logger } from "../log";
import { dropPartials, partialRoot } from "./partial";
import type { ServedRecord } from "./served-record";

/**
 * What this SN holds but no longer serves, found from its record of what earlier syncs put
 * there (served-record.ts): images whose nodes all left (`sn move`, a new provmethod, a node
 * deleted on the MN) and nodes no longer served. `sn sync` reports them on every run;
 * `--prune` removes them after a sync that completed.
 */
export interface StaleImage {
  image: string;
  /** The recorded directories and files that are still there and that no served image uses. */
  dirs: string[];
  files: string[];
  nfsRoot: boolean;
  removed: boolean;
  /** Why it was not removed (an NFS root without --force, a failed removal). */
  kept?: string;
}

export interface StaleNode {
  node: string;
  image: string;
  /** Its recorded boot files that are still there. */
  files: string[];
  removed: boolean;
  kept?: string;
}

/** A generation of an NFS-root image that a switch replaced and kept (image-pull.ts keepOld): nodes may still mount it. */
export interface KeptGeneration {
  image: string;
  dir: string;
  removed: boolean;
  /** Why it is still there (no --force, a failed removal). */
  kept?: string;
}

export interface StaleReport {
  images: StaleImage[];
  nodes: StaleNode[];
  generations: KeptGeneration[];
}

/** What the sync that just ran serves: a path any of these use is never stale. */
export interface ServingNow {
  /** Every image a served node boots, whether it synced this time or not. */
  images: ReadonlySet<string>;
  /** Every served node, with or without an image. */
  nodes: ReadonlySet<string>;
  /** The paths the served images and nodes use (their directories, boot files, published files). */
  inUse: readonly string[];
}

const there = (p: string) => lstatSync(p, { throwIfNoEntry: false }) !== undefined;

/** Only what lies strictly below installdir or tftpdir: a record naming either root, or anything else, is not followed. */
function confined(cfg: Config, p: string): boolean {
  return [cfg.installdir, cfg.tftpdir].some((root) => p !== root && isInside(p, root));
}

/** One path inside the other (a served image's directory below a stale one, or the other way round). */
const overlaps = (a: string, b: string) => isInside(a, b) || isInside(b, a);

export function findStale(cfg: Config, prev: ServedRecord, now: ServingNow): StaleReport {
  const out: StaleReport = { images: [], nodes: [], generations: [] };
  const inUse = new Set(now.inUse);
  const free = (p: string) => confined(cfg, p) && there(p) && !now.inUse.some((u) => overlaps(p, u));
  for (const [image, rec] of Object.entries(prev.images)) {
    if (now.images.has(image)) continue;
    const dirs = rec.dirs.filter(free);
    const files = rec.files.filter(free);
    // shares everything with a served image (one profile directory): nothing of its own to hold
    if (dirs.length || files.length) out.images.push({ image, dirs, files, nfsRoot: rec.nfsRoot === true, removed: false });
  }
  for (const [node, rec] of Object.entries(prev.nodes)) {
    if (now.nodes.has(node)) continue;
    // a MAC or IP name a served node's loader uses now is that node's
    const files = rec.files.filter((p) => confined(cfg, p) && there(p) && !inUse.has(p));
    if (files.length) out.nodes.push({ node, image: rec.image, files, removed: false });
  }
  // every image's, served or not: which nodes still run on one, only their admin knows
  for (const [image, rec] of Object.entries(prev.images))
    for (const dir of rec.kept ?? []) if (confined(cfg, dir) && there(dir)) out.generations.push({ image, dir, removed: false });
  out.images.sort((a, b) => a.image.localeCompare(b.image));
  out.nodes.sort((a, b) => a.node.localeCompare(b.node));
  return out;
}

/**
 * Remove what findStale found. A node's boot files go the way `boot --offline` removes them
 * (loader-files.ts), limited to the files this SN's syncs wrote for it and no served node uses;
 * then the rest of its recorded files (an install node's answer files). An image's directories
 * are renamed to a hidden name beside them first (core/fs/removal.ts), then deleted, so an
 * interrupted prune never leaves a half-deleted image under its served name. An image whose
 * nodes mount its tree over NFS is kept without `force`: nodes still running it would lose
 * their root.
 */
export function pruneStale(cfg: Config, log: Logger, stale: StaleReport, now: ServingNow, force: boolean, problems: string[]): void {
  const inUse = new Set(now.inUse);
  const gone: { node: string }[] = [];
  for (const n of stale.nodes) {
    const mine = new Set(n.files);
    const rm = (p: string) => {
      if (!mine.has(p) || inUse.has(p)) return false;
      // a pxelinux MAC/IP name is a symlink to its node's file: only while it still points at this node
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st?.isSymbolicLink() && readlinkSync(p) !== n.node) return false;
      return rmQuiet(p);
    };
    try {
      // its GRUB2 file and the names linked to it, only when a sync wrote that file for it
      const grub2 = new Grub2Links(bootPaths(cfg.tftpdir).grub2Dir, (p) => mine.has(p) && there(p));
      removeNodeBootFiles(cfg.tftpdir, grub2, { node: n.node }, rm);
      for (const p of n.files) if (there(p)) rm(p);
      n.removed = n.files.every((p) => !there(p) || inUse.has(p));
      if (!n.removed) n.kept = `could not remove ${n.files.filter(there).join(", ")}`;
      else gone.push({ node: n.node });
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      n.kept = e.message;
    }
    if (n.kept) problems.push(`${n.node}: boot files not pruned: ${n.kept}`);
  }
  // their lines in the nginx snippet go with their overlays (a node without an address loses them)
  writeNodeAcl(cfg, gone, log);
  for (const i of stale.images) {
    if (i.nfsRoot && !force) {
      i.kept = "its nodes mount its tree over NFS, so nodes still running it may have it mounted (add --force to remove it anyway)";
      continue;
    }
    const staged = new StagedRemoval();
    try {
      for (const p of [...i.dirs, ...i.files]) staged.add(p);
      staged.commit();
      // a partial an interrupted sync left for it would otherwise wait forever for a resume
      dropPartials(partialRoot(cfg), i.dirs);
      i.removed = true;
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      staged.rollback();
      i.kept = e.message;
      problems.push(`image ${i.image} not pruned: ${e.message}`);
    }
  }
  for (const g of stale.generations) {
    if (!force) {
      g.kept = "nodes may still mount it over NFS (add --force once they have rebooted)";
      continue;
    }
    const staged = new StagedRemoval();
    try {
      staged.add(g.dir);
      staged.commit();
      g.removed = true;
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      staged.rollback();
      g.kept = e.message;
      problems.push(`image ${g.image}: previous generation ${g.dir} not pruned: ${e.message}`);
    }
  }
}

/** The record to keep after this sync: what it serves now, plus what is stale and was not removed. */
export function keepStale(next: ServedRecord, prev: ServedRecord, stale: StaleReport): ServedRecord {
  for (const i of stale.images) if (!i.removed) next.images[i.image] = { ...(prev.images[i.image] as ServedRecord["images"][string]) };
  const gone = new Set(stale.generations.filter((g) => g.removed).map((g) => g.dir));
  for (const rec of Object.values(next.images)) {
    if (!rec.kept) continue;
    rec.kept = rec.kept.filter((d) => !gone.has(d));
    if (rec.kept.length === 0) delete rec.kept;
  }
  for (const n of stale.nodes) if (!n.removed) next.nodes[n.node] = { ...(prev.nodes[n.node] as ServedRecord["nodes"][string]) };
  return next;
}

/**
 * The lines `sn sync` prints for them: a warning per item still held, an info line per item
 * removed. `pruned`: a prune ran (kept items say why); otherwise each says how to remove it.
 */
export function staleLines(stale: StaleReport, pruned: boolean, dryRun: boolean): { warn: string[]; info: string[] } {
  const warn: string[] = [];
  const info: string[] = [];
  const how = (nfs: boolean) =>
    `${dryRun ? "'sn sync --prune' would remove" : "--prune removes"} ${nfs ? "it with --force: its nodes mount its tree over NFS" : "it"}`;
  for (const n of stale.nodes) {
    const head = `${n.node}: no longer served by this SN`;
    if (n.removed) info.push(`${head}: removed its boot files (${n.files.length} file(s))`);
    else if (pruned && n.kept) warn.push(`${head}: its boot files were kept: ${n.kept}`);
    else warn.push(`${head}: its boot files are left in place (${dryRun ? "'sn sync --prune' would remove them" : "--prune removes them"})`);
  }
  for (const g of stale.generations) {
    const head = `image ${g.image}: a previous generation is kept at ${g.dir} for nodes that may still mount it over NFS`;
    if (g.removed) info.push(`image ${g.image}: removed the previous generation ${g.dir}`);
    else if (pruned && g.kept) warn.push(`${head}: ${g.kept}`);
    else warn.push(`${head} (remove it once they have rebooted: ${dryRun ? "'sn sync --prune --force' would remove it" : "--prune --force removes it"})`);
  }
  for (const i of stale.images) {
    const head = `image ${i.image}: no node of this SN boots it`;
    const what = [...i.dirs, ...i.files].join(", ");
    if (i.removed) info.push(`${head}: removed ${what}`);
    else if (pruned && i.kept) warn.push(`${head}: kept ${what}: ${i.kept}`);
    else warn.push(`${head}: ${what} left in place (${how(i.nfsRoot)})`);
  }
  return { warn, info };
}
