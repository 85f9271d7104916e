import { type FsType, MiB, type SourceFs, type SourceLayout, type SourcePartition } from "./layout";

/**
 * The disk planner: how the golden layout fits a target disk of a given size.
 *
 *  - Every partition and logical volume keeps its golden size, except the largest data
 *    filesystem (ext2/3/4 or xfs; / on a tie), which takes whatever the disk has left: it grows
 *    on a larger disk and shrinks on a smaller one, down to its minimum (used bytes plus
 *    headroom, see minMiB).
 *  - If that is not enough, every other data filesystem also shrinks to its minimum.
 *  - If that is not enough either, the disk is too small: the error names the bytes needed
 *    and available, and the node touches nothing.
 *
 * The plan is expressed as a short list of *variants* (one per policy above), each a fixed part
 * plus one "rest" partition with a minimum. The management node prints a concrete plan for a
 * given size (`--dry-run`); the node gets the variants (node-plan.ts) and picks the first whose
 * minimum fits its real disk, with nothing but shell arithmetic — the same rule as planFor().
 * Sizes are whole MiB: partitions start on 1 MiB boundaries, as sfdisk and parted align them.
 */
export type Size = number | "rest";

export interface Variant {
  /** 1: golden sizes, the grow target takes the rest; 2: every data filesystem at its minimum too. */
  policy: 1 | 2;
  /** Per partition (layout order); "rest" for the one that takes what is left. The MBR extended container is "rest" too when it holds the grower, else the sum of its logicals. */
  partitions: Size[];
  /** Per logical volume, in layout order (vg by vg); "rest" = the free space of its volume group. */
  lvs: Size[];
  /** Sum of the fixed partition sizes (MiB), extended containers excluded. */
  fixedMiB: number;
  /** The least the rest partition may get. */
  restMinMiB: number;
  /** MiB lost to alignment: 1 MiB before the first partition, 1 after the last (GPT backup), 1 per MBR logical. */
  overheadMiB: number;
  minDiskMiB: number;
}

export interface PlannedPart {
  number: number;
  role: SourcePartition["role"];
  sizeMiB: number;
  goldenMiB: number;
  what: string;
}

export interface PlannedFs {
  id: string;
  fstype: FsType | "swap";
  mountpoint: string | null;
  sizeMiB: number;
  goldenMiB: number;
  minMiB: number;
  usedBytes: number | null;
  change: "same" | "grows" | "shrinks";
}

export interface ClonePlan {
  diskBytes: number;
  label: "gpt" | "dos";
  variant: Variant;
  partitions: PlannedPart[];
  filesystems: PlannedFs[];
  /** The data filesystem that takes the rest of the disk. */
  grower: string;
  minDiskBytes: number;
}

export interface TooSmall {
  tooSmall: true;
  diskBytes: number;
  neededBytes: number;
  grower: string;
}

export interface PlanOptions {
  /** Entries (files, directories, links) in the image: an ext filesystem holding / needs an inode for each. */
  entries?: number;
}

const mib = (bytes: number) => Math.ceil(bytes / MiB);
const roundUp = (v: number, step: number) => Math.ceil(v / step) * step;

/** Headroom when a filesystem is made smaller than on the golden node: 10% of what it uses plus 256 MiB. */
export const HEADROOM_FRACTION = 0.1;
export const HEADROOM_MIB = 256;
/** mkfs.xfs refuses filesystems under 300 MB (xfsprogs 5.19+). */
export const XFS_MIN_MIB = 300;

/**
 * The smallest a data filesystem may be made: its used bytes plus headroom, plus the space its
 * own metadata takes (ext: journal, inode tables and reserved blocks, ~5%; xfs ~3%), and for an
 * ext filesystem holding / one inode per entry of the image (16 KiB per inode, mke2fs's
 * default ratio). Never more than its golden size (a golden disk always fits), never less than
 * what mkfs accepts. Unknown use (not mounted at capture): the golden size.
 */
export function minMiB(fs: SourceFs, opts: PlanOptions = {}): number {
  const golden = mib(fs.bytes);
  if (fs.usedBytes === null) return golden;
  const want = fs.usedBytes * (1 + HEADROOM_FRACTION) + HEADROOM_MIB * MiB;
  let min = fs.fstype === "xfs" ? Math.max(XFS_MIN_MIB, mib(want / 0.97)) : fs.fstype === "vfat" ? mib(fs.usedBytes * 1.1 + 8 * MiB) : mib(want / 0.95);
  if (fs.fstype.startsWith("ext") && fs.mountpoint === "/" && opts.entries) min = Math.max(min, mib(opts.entries * 16384 * 1.25));
  return Math.min(min, golden);
}

function isData(fs: SourceFs | undefined): fs is SourceFs {
  return !!fs && fs.fstype !== "vfat";
}

/** The largest data filesystem (ext2/3/4, xfs), / winning a tie. */
export function growTarget(layout: SourceLayout): SourceFs {
  const data = layout.filesystems.filter(isData);
  if (data.length === 0) throw new Error("a layout with no data filesystem reached the planner");
  return data.reduce((a, b) => (b.bytes > a.bytes || (b.bytes === a.bytes && b.mountpoint === "/") ? b : a));
}

export function variants(layout: SourceLayout, opts: PlanOptions = {}): Variant[] {
  const grower = growTarget(layout);
  const v1 = variant(layout, grower, 1, opts);
  const v2 = variant(layout, grower, 2, opts);
  const out = [v1];
  if (v2.minDiskMiB < v1.minDiskMiB) out.push(v2);
  return out;
}

function variant(layout: SourceLayout, grower: SourceFs, policy: 1 | 2, opts: PlanOptions): Variant {
  const dataSize = (fs: SourceFs, golden: number) => (policy === 2 && isData(fs) ? Math.min(golden, minMiB(fs, opts)) : golden);
  const lvs: Size[] = [];
  let restMinMiB = 0;
  const pvSize = new Map<string, Size>();
  for (const vg of layout.vgs) {
    const ext = Math.max(1, Math.round(vg.extentBytes / MiB));
    let sum = 0;
    let holdsGrower = false;
    for (const lv of vg.lvs) {
      const golden = roundUp(mib(lv.bytes), ext);
      if (lv.fs && lv.fs.id === grower.id) {
        lvs.push("rest");
        holdsGrower = true;
        sum += roundUp(minMiB(lv.fs, opts), ext);
      } else {
        const size = lv.fs ? roundUp(dataSize(lv.fs, golden), ext) : golden;
        lvs.push(size);
        sum += size;
      }
    }
    // LVM keeps 1 MiB before the first extent for its metadata; one more extent covers rounding
    const needed = sum + 1 + ext;
    if (holdsGrower) {
      pvSize.set(vg.name, "rest");
      restMinMiB = needed;
    } else pvSize.set(vg.name, policy === 2 ? needed : -1);
  }

  const partitions: Size[] = [];
  let fixedMiB = 0;
  for (const p of layout.partitions) {
    const golden = mib(p.bytes);
    let size: Size = golden;
    if (p.role === "extended")
      size = 0; // set below, from its logicals
    else if (p.fs && p.fs.id === grower.id) {
      size = "rest";
      restMinMiB = minMiB(p.fs, opts);
    } else if (p.fs) size = dataSize(p.fs, golden);
    else if (p.role === "lvm" && p.vg) {
      const s = pvSize.get(p.vg);
      size = s === "rest" ? "rest" : s === undefined || s === -1 ? golden : Math.min(golden, s);
    }
    if (size !== "rest" && p.role !== "extended") fixedMiB += size;
    partitions.push(size);
  }
  const logical = layout.partitions.map((p, i) => ({ p, size: partitions[i] as Size })).filter((x) => x.p.logical);
  const ext = layout.partitions.findIndex((p) => p.role === "extended");
  if (ext >= 0) {
    // the container covers its logicals, each behind a 1 MiB gap for its EBR; when the grower is
    // inside it, it takes the rest of the disk (sfdisk: an extended partition without size fills it)
    partitions[ext] = logical.some((x) => x.size === "rest") ? "rest" : logical.reduce((n, x) => n + 1 + (x.size as number), 0);
  }
  const logicals = logical.length;
  const overheadMiB = 2 + logicals;
  return { policy, partitions, lvs, fixedMiB, restMinMiB, overheadMiB, minDiskMiB: fixedMiB + restMinMiB + overheadMiB };
}

/** The plan for a disk of `diskBytes`, or why it does not fit. */
export function planFor(layout: SourceLayout, diskBytes: number, opts: PlanOptions = {}): ClonePlan | TooSmall {
  const vs = variants(layout, opts);
  const grower = growTarget(layout);
  const diskMiB = Math.floor(diskBytes / MiB);
  const v = vs.find((x) => x.minDiskMiB <= diskMiB);
  const last = vs.at(-1) as Variant;
  if (!v) return { tooSmall: true, diskBytes, neededBytes: last.minDiskMiB * MiB, grower: describeFs(grower) };
  const rest = diskMiB - v.overheadMiB - v.fixedMiB;
  const sizeOf = (s: Size) => (s === "rest" ? rest : s);

  const partitions: PlannedPart[] = layout.partitions.map((p, i) => ({
    number: p.number,
    role: p.role,
    sizeMiB:
      p.role === "extended" ? (v.partitions[i] === "rest" ? rest + logicalSum(layout, v) : (v.partitions[i] as number)) : sizeOf(v.partitions[i] as Size),
    goldenMiB: mib(p.bytes),
    what: describePart(p),
  }));
  const filesystems: PlannedFs[] = [];
  const add = (fs: SourceFs, sizeMiB: number) => {
    const golden = mib(fs.bytes);
    filesystems.push({
      id: fs.id,
      fstype: fs.fstype,
      mountpoint: fs.mountpoint,
      sizeMiB,
      goldenMiB: golden,
      minMiB: minMiB(fs, opts),
      usedBytes: fs.usedBytes,
      change: change(sizeMiB, golden),
    });
  };
  let lvIndex = 0;
  layout.partitions.forEach((p, i) => {
    const size = partitions[i]?.sizeMiB ?? 0;
    if (p.fs) add(p.fs, size);
    if (p.swap)
      filesystems.push({
        id: p.swap.id,
        fstype: "swap",
        mountpoint: null,
        sizeMiB: size,
        goldenMiB: mib(p.bytes),
        minMiB: mib(p.bytes),
        usedBytes: null,
        change: change(size, mib(p.bytes)),
      });
    if (p.role !== "lvm" || !p.vg) return;
    const vg = layout.vgs.find((g) => g.name === p.vg);
    if (!vg) return;
    const ext = Math.max(1, Math.round(vg.extentBytes / MiB));
    const first = layout.vgs.slice(0, layout.vgs.indexOf(vg)).reduce((n, g) => n + g.lvs.length, 0);
    lvIndex = first;
    const sizes = vg.lvs.map((_, k) => v.lvs[lvIndex + k] as Size);
    const fixed = sizes.reduce<number>((n, s) => n + (s === "rest" ? 0 : s), 0);
    const lvRest = Math.floor((size - 1 - fixed) / ext) * ext;
    vg.lvs.forEach((lv, k) => {
      const s = sizes[k] === "rest" ? lvRest : (sizes[k] as number);
      if (lv.fs) add(lv.fs, s);
      if (lv.swap)
        filesystems.push({
          id: lv.swap.id,
          fstype: "swap",
          mountpoint: null,
          sizeMiB: s,
          goldenMiB: mib(lv.bytes),
          minMiB: mib(lv.bytes),
          usedBytes: null,
          change: change(s, roundUp(mib(lv.bytes), ext)),
        });
    });
  });
  return { diskBytes, label: layout.disk.label, variant: v, partitions, filesystems, grower: grower.id, minDiskBytes: last.minDiskMiB * MiB };
}

function logicalSum(layout: SourceLayout, v: Variant): number {
  // the extended container that holds the grower spans the rest partition, the fixed logicals and their EBR gaps
  return layout.partitions.reduce((n, p, i) => (p.logical ? n + 1 + (v.partitions[i] === "rest" ? 0 : (v.partitions[i] as number)) : n), 0);
}

function change(size: number, golden: number): PlannedFs["change"] {
  return size > golden ? "grows" : size < golden ? "shrinks" : "same";
}

export function describeFs(fs: SourceFs): string {
  return `${fs.mountpoint ?? "(not mounted)"} (${fs.fstype} on ${fs.id.startsWith("lv:") ? fs.id.slice(3) : `partition ${fs.id.slice(1)}`})`;
}

function describePart(p: SourcePartition): string {
  switch (p.role) {
    case "biosboot":
      return "BIOS boot";
    case "esp":
      return `EFI system (vfat${p.fs?.mountpoint ? ` ${p.fs.mountpoint}` : ""})`;
    case "swap":
      return "swap";
    case "lvm":
      return `LVM physical volume (${p.vg})`;
    case "extended":
      return "extended";
    case "fs":
      return `${p.fs?.fstype} ${p.fs?.mountpoint ?? "(not mounted)"}`;
    default:
      return `type ${p.type} (created empty)`;
  }
}
