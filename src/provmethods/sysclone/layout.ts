import type { DiskLayout } from "../../core/capture/probe";
import { DataError } from "../../core/errors";

/**
 * The golden node's boot disk as `xcimg clone` rebuilds it, distilled from the raw facts capture
 * recorded (lsblk, sfdisk --json, blkid, findmnt, /proc/swaps, LVM reports, fstab): which
 * partitions in which order, what each holds (BIOS boot, EFI system partition, swap, a
 * filesystem, an LVM physical volume), each filesystem's size and how much of it was used, and
 * the identifiers (UUID, PARTUUID, LABEL, device names) fstab and bootloader files may use.
 * Pure: facts in, model out, so every layout can be unit-tested without a disk.
 *
 * What clone does not rebuild is refused here with the reason, before anything is prepared:
 * software RAID, encrypted volumes, btrfs, a root volume group spread over several disks.
 */
export const MiB = 1024 * 1024;

export type PartRole = "biosboot" | "esp" | "swap" | "fs" | "lvm" | "extended" | "raw";
export type FsType = "ext2" | "ext3" | "ext4" | "xfs" | "vfat";

export interface SourceFs {
  /** Stable id used in plans and on the node: "p<n>" for a partition, "lv:<vg>/<lv>" for an LV. */
  id: string;
  fstype: FsType;
  /** Where the golden node mounted it; null when it was not mounted (created empty). */
  mountpoint: string | null;
  label: string | null;
  uuid: string | null;
  /** Bytes the filesystem used on the golden node (statfs), null when unknown (not mounted). */
  usedBytes: number | null;
  /** Size of the partition or LV holding it. */
  bytes: number;
  options: string | null;
}

export interface SourcePartition {
  number: number;
  /** Device name on the golden node, e.g. /dev/vda4. */
  device: string;
  bytes: number;
  /** GPT type GUID (upper case) or MBR type id (hex, lower case, no 0x). */
  type: string;
  /** GPT partition name (PARTLABEL). */
  name: string | null;
  partuuid: string | null;
  bootable: boolean;
  /** GPT attribute bits as sfdisk prints them (e.g. "LegacyBIOSBootable"). */
  attrs: string | null;
  role: PartRole;
  /** For role "fs". */
  fs?: SourceFs;
  /** For role "swap". */
  swap?: SourceSwap;
  /** For role "lvm": the volume group on it. */
  vg?: string;
  /** MBR: a logical partition inside the extended one. */
  logical: boolean;
}

export interface SourceSwap {
  id: string;
  label: string | null;
  uuid: string | null;
  bytes: number;
}

export interface SourceLv {
  vg: string;
  name: string;
  bytes: number;
  role: "fs" | "swap" | "raw";
  fs?: SourceFs;
  swap?: SourceSwap;
}

export interface SourceVg {
  name: string;
  extentBytes: number;
  /** Partition numbers of its physical volumes (on the cloned disk). */
  pvPartitions: number[];
  lvs: SourceLv[];
}

export interface SourceLayout {
  firmware: string;
  disk: { name: string; bytes: number; sectorSize: number; label: "gpt" | "dos" };
  partitions: SourcePartition[];
  vgs: SourceVg[];
  /** Every filesystem rebuilt, partitions and LVs, in partition order. */
  filesystems: SourceFs[];
  swaps: SourceSwap[];
  /** The golden node's /etc/fstab, for the node's new one. */
  fstab: string | null;
  /** Device names and identifiers → the id of what replaces them ("p4", "lv:vg/root"). */
  aliases: Map<string, string>;
  /** Things on the golden node clone does not recreate (other disks' filesystems). */
  notCloned: string[];
  warnings: string[];
}

interface LsblkDev {
  name?: string;
  kname?: string;
  path?: string;
  type?: string;
  size?: number | string;
  "log-sec"?: number;
  pttype?: string | null;
  fstype?: string | null;
  children?: LsblkDev[];
}

interface FindmntFs {
  target?: string;
  source?: string;
  fstype?: string;
  options?: string;
  size?: number;
  used?: number;
  uuid?: string | null;
  label?: string | null;
  children?: FindmntFs[];
}

interface SfdiskPart {
  node?: string;
  start?: number;
  size?: number;
  type?: string;
  uuid?: string;
  name?: string;
  attrs?: string;
  bootable?: boolean;
}

const GPT = {
  biosboot: "21686148-6449-6E6F-744E-656564454649",
  esp: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
  swap: "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
  lvm: "E6D6D379-F507-44C2-A23C-238F2A3DF928",
  raid: "A19D880F-05FC-4D3B-A006-743F0F84911E",
};
const MBR_EXTENDED = new Set(["5", "f", "85"]);
const FS_TYPES = new Set<string>(["ext2", "ext3", "ext4", "xfs", "vfat"]);

/** Where a layout cannot be cloned, with what to do instead. */
export class LayoutError extends DataError {}

export function normalizeLayout(raw: DiskLayout, image: string): SourceLayout {
  const lsblk = ((raw.lsblk as { blockdevices?: LsblkDev[] } | null)?.blockdevices ?? []) as LsblkDev[];
  const mounts = flattenFindmnt(((raw.filesystems as { filesystems?: FindmntFs[] } | null)?.filesystems ?? []) as FindmntFs[]);
  const blkid = raw.blkid ?? {};
  const names = deviceNames(lsblk);
  const canon = (dev: string) => names.get(dev) ?? dev;

  const root = mounts.find((m) => m.target === "/");
  if (!root?.source) {
    throw new LayoutError(`the capture of image '${image}' does not say which device held / (findmnt was missing on the golden node)`, {
      hint: "install util-linux on the golden node and capture it again with -t sysclone",
    });
  }
  if (raw.mdstat && /\bmd\d+\s*:\s*active/.test(raw.mdstat)) {
    throw new LayoutError(`the golden node of image '${image}' uses software RAID (/proc/mdstat): xcimg clone does not rebuild RAID arrays yet`, {
      hint: "capture a golden node without md RAID, or build the arrays in a postscript",
    });
  }
  const diskDev = diskOf(lsblk, canon(root.source));
  if (!diskDev) throw new LayoutError(`cannot find the disk holding / (${root.source}) in the lsblk output of image '${image}'`);
  const diskName = diskDev.name ?? "";
  const table = partitionTable(raw, diskDev);
  if (!table) {
    throw new LayoutError(
      `the capture of image '${image}' has no partition table of /dev/${diskName} (sfdisk was missing on the golden node, or / is on an unpartitioned disk)`,
      {
        hint: "install fdisk (sfdisk) on the golden node and capture it again with -t sysclone",
      },
    );
  }
  const label = table.label === "gpt" ? "gpt" : table.label === "dos" ? "dos" : null;
  if (!label) throw new LayoutError(`/dev/${diskName} on the golden node has a '${table.label}' partition table: clone handles gpt and dos (MBR)`);
  const sectorSize = Number(table.sectorsize ?? diskDev["log-sec"] ?? 512);

  const swapDevs = new Set(raw.swaps.map((s) => canon(s.device)));
  const byDev = new Map<string, FindmntFs>();
  for (const m of mounts) if (m.source && !byDev.has(canon(m.source))) byDev.set(canon(m.source), m);
  const lvm = lvmReport(raw);
  const aliases = new Map<string, string>();
  const notCloned: string[] = [];
  const warnings: string[] = [];
  const partitions: SourcePartition[] = [];
  const vgs = new Map<string, SourceVg>();

  for (const p of table.partitions) {
    const device = canon(p.node ?? "");
    const number = partNumber(p.node ?? "");
    const type = label === "gpt" ? (p.type ?? "").toUpperCase() : (p.type ?? "").toLowerCase().replace(/^0x/, "");
    const info = blkid[device] ?? {};
    const bytes = (p.size ?? 0) * sectorSize;
    const part: SourcePartition = {
      number,
      device,
      bytes,
      type,
      name: p.name ?? null,
      partuuid: p.uuid?.toLowerCase() ?? info.PARTUUID ?? null,
      bootable: Boolean(p.bootable),
      attrs: p.attrs ?? null,
      role: "raw",
      logical: label === "dos" && number > 4,
    };
    const id = `p${number}`;
    if (info.TYPE === "crypto_LUKS")
      throw new LayoutError(`${device} on the golden node of image '${image}' is encrypted (LUKS): xcimg clone does not create encrypted volumes`);
    if (info.TYPE === "linux_raid_member" || type === GPT.raid || type === "fd") {
      throw new LayoutError(`${device} on the golden node of image '${image}' is a software RAID member: xcimg clone does not rebuild RAID arrays yet`);
    }
    if (label === "dos" && MBR_EXTENDED.has(type)) part.role = "extended";
    else if (info.TYPE === "swap" || swapDevs.has(device)) {
      part.role = "swap";
      part.swap = { id, label: info.LABEL ?? null, uuid: info.UUID ?? null, bytes };
    } else if (info.TYPE === "LVM2_member" || type === GPT.lvm || type === "8e") {
      part.role = "lvm";
      const pv = lvm.pvs.find((x) => canon(x.pv_name) === device);
      if (!pv?.vg_name) {
        warnings.push(`${device} is an LVM physical volume in no volume group: it is recreated empty`);
        part.role = "raw";
      } else part.vg = pv.vg_name;
    } else if (info.TYPE && FS_TYPES.has(info.TYPE)) {
      const m = byDev.get(device);
      part.role = info.TYPE === "vfat" && (type === GPT.esp || type === "ef") ? "esp" : "fs";
      part.fs = {
        id,
        fstype: info.TYPE as FsType,
        mountpoint: m?.target ?? null,
        label: info.LABEL ?? null,
        uuid: info.UUID ?? null,
        usedBytes: m?.used ?? null,
        bytes,
        options: m?.options ?? null,
      };
      if (!m) warnings.push(`${device} (${info.TYPE}) was not mounted on the golden node: it is created empty`);
    } else if (info.TYPE === "btrfs") {
      throw new LayoutError(`${device} on the golden node of image '${image}' is btrfs: xcimg clone creates ext2/3/4, xfs, vfat and swap`);
    } else if (info.TYPE) {
      warnings.push(`${device} holds ${info.TYPE}, which clone does not copy: it is recreated empty`);
    } else if (type === GPT.biosboot) part.role = "biosboot";
    else if (type === GPT.esp || type === "ef") {
      warnings.push(`${device} is an EFI system partition without a filesystem: it gets a new FAT filesystem`);
      part.role = "esp";
      part.fs = { id, fstype: "vfat", mountpoint: null, label: null, uuid: null, usedBytes: null, bytes, options: null };
    }
    for (const name of [
      device,
      info.UUID && `UUID=${info.UUID}`,
      part.partuuid && `PARTUUID=${part.partuuid}`,
      info.LABEL && `LABEL=${info.LABEL}`,
      p.name && `PARTLABEL=${p.name}`,
    ]) {
      if (name) aliases.set(name, id);
    }
    for (const a of lsblkAliases(lsblk, device)) aliases.set(a, id);
    partitions.push(part);
  }

  for (const part of partitions) {
    if (part.role !== "lvm" || !part.vg) continue;
    let vg = vgs.get(part.vg);
    if (!vg) {
      const info = lvm.vgs.find((v) => v.vg_name === part.vg);
      vg = { name: part.vg, extentBytes: Number(info?.vg_extent_size ?? 4 * MiB) || 4 * MiB, pvPartitions: [], lvs: [] };
      vgs.set(part.vg, vg);
    }
    vg.pvPartitions.push(part.number);
  }
  for (const vg of vgs.values()) {
    const outside = lvm.pvs.filter((p) => p.vg_name === vg.name && !partitions.some((q) => q.device === canon(p.pv_name)));
    if (outside.length) {
      throw new LayoutError(
        `volume group ${vg.name} of image '${image}' also uses ${outside.map((p) => p.pv_name).join(", ")}, outside /dev/${diskName}: clone rebuilds one disk`,
      );
    }
    if (vg.pvPartitions.length > 1)
      throw new LayoutError(`volume group ${vg.name} of image '${image}' spans several partitions: clone rebuilds a volume group on one partition`);
    for (const lv of lvm.lvs.filter((l) => l.vg_name === vg.name)) {
      if (lv.segtype && !["linear", "striped"].includes(lv.segtype)) {
        throw new LayoutError(`logical volume ${vg.name}/${lv.lv_name} of image '${image}' is of type ${lv.segtype}: clone creates plain (linear) volumes`);
      }
      const id = `lv:${vg.name}/${lv.lv_name}`;
      const paths = [lv.lv_path ?? `/dev/${vg.name}/${lv.lv_name}`, `/dev/mapper/${mapperName(vg.name, lv.lv_name)}`];
      const dev = paths.map(canon).find((p) => blkid[p]) ?? canon(paths[1] as string);
      const info = blkid[dev] ?? blkid[paths[0] as string] ?? {};
      const bytes = Number(lv.lv_size) || 0;
      const out: SourceLv = { vg: vg.name, name: lv.lv_name, bytes, role: "raw" };
      if (info.TYPE === "swap" || paths.some((p) => swapDevs.has(canon(p)))) {
        out.role = "swap";
        out.swap = { id, label: info.LABEL ?? null, uuid: info.UUID ?? null, bytes };
      } else if (info.TYPE && FS_TYPES.has(info.TYPE)) {
        const m = paths.map((p) => byDev.get(canon(p))).find(Boolean);
        out.role = "fs";
        out.fs = {
          id,
          fstype: info.TYPE as FsType,
          mountpoint: m?.target ?? null,
          label: info.LABEL ?? null,
          uuid: info.UUID ?? null,
          usedBytes: m?.used ?? null,
          bytes,
          options: m?.options ?? null,
        };
      } else if (info.TYPE === "btrfs") {
        throw new LayoutError(`${paths[0]} on the golden node of image '${image}' is btrfs: xcimg clone creates ext2/3/4, xfs, vfat and swap`);
      } else
        warnings.push(`${paths[0]} ${info.TYPE ? `holds ${info.TYPE}, which clone does not copy` : "has no filesystem clone knows"}: it is recreated empty`);
      for (const name of [...paths, dev, info.UUID && `UUID=${info.UUID}`, info.LABEL && `LABEL=${info.LABEL}`]) if (name) aliases.set(name, id);
      for (const a of lsblkAliases(lsblk, dev)) aliases.set(a, id);
      vg.lvs.push(out);
    }
  }

  const filesystems: SourceFs[] = [];
  const swaps: SourceSwap[] = [];
  for (const p of partitions) {
    if (p.fs) filesystems.push(p.fs);
    if (p.swap) swaps.push(p.swap);
    if (p.role === "lvm" && p.vg) {
      for (const lv of vgs.get(p.vg)?.lvs ?? []) {
        if (lv.fs) filesystems.push(lv.fs);
        if (lv.swap) swaps.push(lv.swap);
      }
    }
  }
  if (!filesystems.some((f) => f.mountpoint === "/")) {
    throw new LayoutError(
      `/ of image '${image}' is on ${root.source}, which clone cannot rebuild (it is not an ext2/3/4 or xfs partition or LVM volume on /dev/${diskName})`,
    );
  }
  for (const m of mounts) {
    const dev = m.source ? canon(m.source) : "";
    if (m.target && !filesystems.some((f) => f.mountpoint === m.target) && dev.startsWith("/dev/")) {
      notCloned.push(
        `${m.target} (${m.fstype} on ${m.source}): not on /dev/${diskName}; its files are in the image and land on the filesystem that holds ${m.target}`,
      );
    }
  }
  return {
    firmware: raw.firmware,
    disk: { name: diskName, bytes: Number(diskDev.size) || 0, sectorSize, label },
    partitions,
    vgs: [...vgs.values()],
    filesystems,
    swaps,
    fstab: raw.fstab,
    aliases,
    notCloned,
    warnings,
  };
}

/** LVM escapes '-' as '--' in /dev/mapper names. */
export function mapperName(vg: string, lv: string): string {
  return `${vg.replaceAll("-", "--")}-${lv.replaceAll("-", "--")}`;
}

/** Partition number from its device name: /dev/vda4 → 4, /dev/nvme0n1p2 → 2, mbr.img5 → 5. */
export function partNumber(node: string): number {
  const m = /(\d+)$/.exec(node);
  return m ? Number(m[1]) : 0;
}

function flattenFindmnt(list: FindmntFs[]): FindmntFs[] {
  const out: FindmntFs[] = [];
  const walk = (l: FindmntFs[]) => {
    for (const f of l) {
      out.push(f);
      if (f.children) walk(f.children);
    }
  };
  walk(list);
  return out;
}

/** Every name lsblk knows a device by (name, kname, path, /dev/<kname>) → its /dev path. */
function deviceNames(devs: LsblkDev[]): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (l: LsblkDev[]) => {
    for (const d of l) {
      const path = d.path ?? (d.name ? `/dev/${d.name}` : "");
      for (const n of [d.path, d.name && `/dev/${d.name}`, d.kname && `/dev/${d.kname}`, d.type === "lvm" && d.name && `/dev/mapper/${d.name}`])
        if (n) m.set(n, path);
      if (d.children) walk(d.children);
    }
  };
  walk(devs);
  return m;
}

function lsblkAliases(devs: LsblkDev[], path: string): string[] {
  const out: string[] = [];
  const walk = (l: LsblkDev[]) => {
    for (const d of l) {
      if ((d.path ?? `/dev/${d.name}`) === path) for (const n of [d.name && `/dev/${d.name}`, d.kname && `/dev/${d.kname}`]) if (n) out.push(n);
      if (d.children) walk(d.children);
    }
  };
  walk(devs);
  return out;
}

/** The whole disk (TYPE disk) under which `dev` appears, directly or through LVM. */
function diskOf(devs: LsblkDev[], dev: string): LsblkDev | null {
  const contains = (d: LsblkDev): boolean => (d.path ?? `/dev/${d.name}`) === dev || (d.children ?? []).some(contains);
  for (const d of devs) if (d.type === "disk" && contains(d)) return d;
  return null;
}

function partitionTable(raw: DiskLayout, disk: LsblkDev): { label: string; sectorsize?: number; partitions: SfdiskPart[] } | null {
  const t = raw.partitionTables[disk.path ?? `/dev/${disk.name}`] ?? raw.partitionTables[`/dev/${disk.name}`];
  const pt = (t as { partitiontable?: { label: string; sectorsize?: number; partitions?: SfdiskPart[] } } | undefined)?.partitiontable;
  if (!pt) return null;
  return { label: pt.label, sectorsize: pt.sectorsize, partitions: pt.partitions ?? [] };
}

interface LvmReport {
  pvs: { pv_name: string; vg_name?: string }[];
  vgs: { vg_name: string; vg_extent_size?: string }[];
  lvs: { lv_name: string; vg_name: string; lv_size: string; lv_path?: string; segtype?: string }[];
}

function lvmReport(raw: DiskLayout): LvmReport {
  const pick = <T>(v: unknown, key: string): T[] => {
    const rep = (v as { report?: Record<string, T[]>[] } | null)?.report;
    return (rep ?? []).flatMap((r) => r[key] ?? []);
  };
  return { pvs: pick(raw.lvm?.pvs, "pv"), vgs: pick(raw.lvm?.vgs, "vg"), lvs: pick(raw.lvm?.lvs, "lv") };
}
