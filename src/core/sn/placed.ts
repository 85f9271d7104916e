import { lstatSync } from "node:fs";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { getImage } from "../defs/image";
import { imageFacts } from "../image/method-facts";
import { bootFilesDir } from "../image/paths";
import { topRecordPath, treeIsNfsRoot } from "../image/tree-barrier";
import { SIGNATURE_SUFFIX } from "../provenance/manifest";
import type { ServingNow } from "./prune";
import type { ServedNodes } from "./served";
import { imagesOf } from "./served";
import type { RecordedImage, RecordedNode, ServedRecord } from "./served-record";
import type { ImagePlan } from "./sync";

/**
 * What one `sn sync` placed, for the SN's record (served-record.ts), and what it serves now,
 * for finding what it no longer serves (prune.ts). An image or node this sync could not
 * update keeps what the record said of it: its files are still the ones it serves.
 */
const there = (p: string) => lstatSync(p, { throwIfNoEntry: false }) !== undefined;
const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])].filter(there).sort();

/** Its published boot files under tftpdir; none for a name that cannot be a directory (nothing was published for it). */
function published(cfg: Config, image: string): string[] {
  try {
    return [bootFilesDir(cfg, image)];
  } catch {
    return [];
  }
}

function planPaths(cfg: Config, p: ImagePlan): { dirs: string[]; files: string[] } {
  return {
    dirs: [p.dir, ...p.own.map((d) => d.dir), ...published(cfg, p.image)],
    files: p.manifest ? [p.manifest.dest, p.manifest.dest + SIGNATURE_SUFFIX] : [],
  };
}

/** The images of this sync: those switched in (or found unchanged) with what they hold now, the rest as recorded. */
export function placedImages(
  cfg: Config,
  db: Db,
  plans: readonly ImagePlan[],
  synced: ReadonlySet<string>,
  prev: ServedRecord,
  kept: ReadonlyMap<string, string> = new Map(),
): Record<string, RecordedImage> {
  const out: Record<string, RecordedImage> = {};
  for (const p of plans) {
    const old = prev.images[p.image];
    if (!synced.has(p.image)) {
      if (old) out[p.image] = old;
      continue;
    }
    // the generations kept for NFS clients, the one this switch replaced included, while they are there
    const generations = union(old?.kept ?? [], kept.has(p.image) ? [kept.get(p.image) as string] : []);
    const { dirs, files } = planPaths(cfg, p);
    const img = getImage(db, p.image);
    // an image whose directory is its tree keeps the node's recorded `/` beside it, made when it is booted here
    if (imageFacts(img.attrs.provmethod).tree === ".") files.push(topRecordPath(p.dir));
    const nfsRoot = treeIsNfsRoot(img);
    out[p.image] = {
      dirs: union(old?.dirs ?? [], dirs),
      files: union(old?.files ?? [], files),
      ...(nfsRoot ? { nfsRoot } : {}),
      ...(generations.length ? { kept: generations } : {}),
    };
  }
  // served, but not planned this time (a bad rootimgdir): what an earlier sync placed stays theirs
  for (const [image, rec] of Object.entries(prev.images)) if (!(image in out) && plans.every((p) => p.image !== image)) out[image] = rec;
  return out;
}

/** The nodes of this sync: those rendered with the files they got, the others as recorded. */
export function placedNodes(
  booted: readonly { node: string; files: readonly string[] }[],
  served: ServedNodes,
  prev: ServedRecord,
): Record<string, RecordedNode> {
  const out: Record<string, RecordedNode> = {};
  for (const n of [...served.nodes.keys(), ...served.noImage]) if (prev.nodes[n]) out[n] = prev.nodes[n];
  for (const b of booted) out[b.node] = { image: served.nodes.get(b.node) ?? "", files: union(prev.nodes[b.node]?.files ?? [], b.files) };
  return out;
}

/** What the served images and nodes use: planned and recorded paths of served images, files of served nodes. */
export function servingNow(cfg: Config, served: ServedNodes, plans: readonly ImagePlan[], prev: ServedRecord, placed?: ServedRecord): ServingNow {
  const images = new Set(imagesOf(served).keys());
  const nodes = new Set([...served.nodes.keys(), ...served.noImage]);
  const inUse: string[] = [];
  for (const p of plans) {
    const { dirs, files } = planPaths(cfg, p);
    inUse.push(...dirs, ...files);
  }
  for (const image of images) {
    inUse.push(...published(cfg, image));
    for (const rec of [prev.images[image], placed?.images[image]]) if (rec) inUse.push(...rec.dirs, ...rec.files);
  }
  for (const node of nodes) for (const rec of [prev.nodes[node], placed?.nodes[node]]) if (rec) inUse.push(...rec.files);
  return { images, nodes, inUse: [...new Set(inUse)] };
}
