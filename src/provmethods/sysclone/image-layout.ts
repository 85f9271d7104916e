import { readFileSync } from "node:fs";
import { restoreCapture } from "../../core/bundle/capture-record";
import type { DiskLayout } from "../../core/capture/probe";
import { formatBytes } from "../../core/capture/progress";
import { readCaptureRecord } from "../../core/capture/record";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { DataError, fsError, NotFoundError, XcimgError } from "../../core/errors";
import { rootImgDir } from "../../core/image/paths";
import { normalizeLayout, type SourceLayout } from "./layout";

/**
 * `xcimg image layout <img> [--set <file>]`: the disk layout a sysclone image's capture
 * recorded (xcimg_capture.disk_layout, what `xcimg clone` recreates on each node), shown, or
 * set from a file so an image imported without one (or whose golden node is gone) can be
 * cloned (issue #17, "Sysclone images are portable"). A set layout passes the same check
 * clone and import apply (normalizeLayout) before anything is written.
 */
export interface LayoutRequest {
  /** A file holding a layout: the raw record, or what `xcimg --json image layout` prints. */
  set?: string;
}

export interface LayoutOpResult {
  image: string;
  /** True when --set wrote it. */
  set: boolean;
  /** The raw record, as capture -t sysclone wrote it and bundles carry it. */
  layout: DiskLayout;
  /** What clone makes of it, one line each (partitions, volume groups, warnings). */
  summary: string[];
}

export function imageLayout(ctx: Context, img: Image, req: LayoutRequest): LayoutOpResult {
  if (req.set !== undefined) return setLayout(ctx, img, req.set);
  const raw = readCaptureRecord(ctx.db(), img.name)?.disk_layout as DiskLayout | null | undefined;
  if (!raw) {
    throw new NotFoundError(`image '${img.name}' has no recorded disk layout`, {
      hint: `capture it with 'xcimg capture <golden node> -t sysclone -o ${img.name}', or set one: 'xcimg image layout ${img.name} --set <file>'`,
    });
  }
  return { image: img.name, set: false, layout: raw, summary: describe(checked(raw, img.name, "the recorded layout")) };
}

function setLayout(ctx: Context, img: Image, file: string): LayoutOpResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw fsError(e, `cannot read ${file}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file} is not JSON: ${(e as Error).message}`, { hint: "give the output of 'xcimg --json image layout <image>'" });
  }
  const raw = layoutOf(v, file);
  const layout = checked(raw, img.name, file);
  const db = ctx.db();
  // the row keeps the rest of the capture record; an image without one gets a row holding only this
  db.write(() => restoreCapture(db, img.name, rootImgDir(ctx.config, img), { disk_layout: JSON.stringify(raw) }));
  return { image: img.name, set: true, layout: raw, summary: describe(layout) };
}

/** The layout in a file: the record itself, or `--json image layout`'s output (its `layout`). */
function layoutOf(v: unknown, file: string): DiskLayout {
  const obj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  const raw = obj(v) && obj(v.layout) && !("lsblk" in v) ? v.layout : v;
  if (!obj(raw)) throw new DataError(`${file} does not hold a disk layout: it is not a JSON object`);
  const problems: string[] = [];
  if (typeof raw.firmware !== "string") problems.push("'firmware' must be a string");
  for (const k of ["lsblk", "filesystems"]) if (!obj(raw[k])) problems.push(`'${k}' must be an object`);
  for (const k of ["partitionTables", "blkid"]) if (raw[k] !== undefined && !obj(raw[k])) problems.push(`'${k}' must be an object`);
  if (raw.swaps !== undefined && !Array.isArray(raw.swaps)) problems.push("'swaps' must be a list");
  for (const k of ["mdstat", "fstab"]) if (raw[k] !== undefined && raw[k] !== null && typeof raw[k] !== "string") problems.push(`'${k}' must be a string`);
  if (raw.lvm !== undefined && raw.lvm !== null && !obj(raw.lvm)) problems.push("'lvm' must be an object or null");
  if (raw.missing !== undefined && !(Array.isArray(raw.missing) && raw.missing.every((m) => typeof m === "string")))
    problems.push("'missing' must be a list of strings");
  if (problems.length) {
    throw new DataError(`${file} does not hold a disk layout as capture -t sysclone records it: ${problems.join("; ")}`, {
      hint: "give the output of 'xcimg --json image layout <image>' of an image captured from a disk",
    });
  }
  // checked field by field above; the deep checks are normalizeLayout's
  return { partitionTables: {}, blkid: {}, swaps: [], lvm: null, mdstat: null, fstab: null, missing: [], ...raw } as unknown as DiskLayout;
}

/** normalizeLayout, with a malformed record reported as bad data instead of a crash. */
function checked(raw: DiskLayout, image: string, what: string): SourceLayout {
  try {
    return normalizeLayout(raw, image);
  } catch (e) {
    if (e instanceof XcimgError) throw e;
    throw new DataError(`${what} is not a disk layout clone can read: ${(e as Error).message}`);
  }
}

function describe(l: SourceLayout): string[] {
  const out = [`disk ${l.disk.name}: ${l.disk.label}, ${formatBytes(l.disk.bytes)}, ${l.disk.sectorSize}-byte sectors, firmware ${l.firmware}`];
  for (const p of l.partitions) {
    const what = p.fs ? `${p.fs.fstype} ${p.fs.mountpoint ?? "(not mounted)"}` : p.vg ? `LVM physical volume of ${p.vg}` : p.role;
    out.push(`  ${p.number}  ${formatBytes(p.bytes).padStart(10)}  ${p.role.padEnd(8)}  ${what}`);
  }
  for (const vg of l.vgs) {
    for (const lv of vg.lvs)
      out.push(`  ${vg.name}/${lv.name}  ${formatBytes(lv.bytes)}  ${lv.fs ? `${lv.fs.fstype} ${lv.fs.mountpoint ?? "(not mounted)"}` : lv.role}`);
  }
  for (const n of l.notCloned) out.push(`  not cloned: ${n}`);
  for (const w of l.warnings) out.push(`  warning: ${w}`);
  return out;
}
