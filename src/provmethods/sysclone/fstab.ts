import type { SourceLayout } from "./layout";

/**
 * The clone's /etc/fstab, from the golden node's: every entry naming a filesystem or swap the
 * clone recreates by something that changes with it (UUID=, PARTUUID=, /dev/disk/by-uuid/…,
 * /dev/disk/by-partuuid/…, a partition's device name such as /dev/vda4, which may be /dev/sda4
 * on the node) gets a token `@XC:<id>@`, which the node replaces with UUID=<new uuid> once it has
 * made the filesystem. LABEL= entries and LVM paths (/dev/mapper/vg-lv, /dev/vg/lv) stay as they
 * are: clone keeps labels and volume names. Entries for other local disks the clone does not
 * rebuild are commented out, so the node does not wait for a device it will never have;
 * network and virtual filesystems stay.
 */
export interface FstabResult {
  template: string;
  /** Entries commented out, for the plan output. */
  disabled: string[];
}

const KEEP_SPECS = /^(LABEL=|PARTLABEL=|\/dev\/mapper\/|\/dev\/disk\/by-label\/)/;
const LOCAL_TYPES = new Set(["ext2", "ext3", "ext4", "xfs", "vfat", "btrfs", "swap", "auto", "ntfs", "exfat", "f2fs", "jfs", "reiserfs"]);

export function fstabTemplate(layout: SourceLayout): FstabResult {
  const disabled: string[] = [];
  if (layout.fstab === null) return { template: rootOnly(layout), disabled };
  const vgNames = new Set(layout.vgs.map((v) => v.name));
  const out = layout.fstab.split("\n").map((line) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return line;
    const fields = trimmed.split(/\s+/);
    const spec = fields[0] as string;
    const fstype = fields[2] ?? "";
    if (KEEP_SPECS.test(spec) || isLvPath(spec, vgNames)) return line;
    const id = lookup(layout, spec);
    if (id) return line.replace(spec, `@XC:${id}@`);
    if (LOCAL_TYPES.has(fstype) && /^(UUID=|PARTUUID=|\/dev\/)/.test(spec)) {
      disabled.push(trimmed);
      return `# xcimg clone: not on the cloned disk: ${line}`;
    }
    return line;
  });
  return { template: out.join("\n").replace(/\n*$/, "\n"), disabled };
}

/** The id of the recreated filesystem an fstab spec names, if any. */
export function lookup(layout: SourceLayout, spec: string): string | undefined {
  const unescaped = spec.replace(/\\040/g, " ");
  const candidates = [unescaped];
  const by = /^\/dev\/disk\/by-(uuid|partuuid|label|partlabel)\/(.+)$/.exec(unescaped);
  if (by) candidates.push(`${(by[1] as string).toUpperCase()}=${by[2]}`);
  const eq = /^(UUID|PARTUUID)=(.+)$/i.exec(unescaped);
  if (eq)
    candidates.push(
      `${(eq[1] as string).toUpperCase()}=${eq[2]}`,
      `${(eq[1] as string).toUpperCase()}=${(eq[2] as string).toLowerCase()}`,
      `${(eq[1] as string).toUpperCase()}=${(eq[2] as string).toUpperCase()}`,
    );
  for (const c of candidates) {
    const id = layout.aliases.get(c);
    if (id) return id;
  }
  return undefined;
}

function isLvPath(spec: string, vgs: Set<string>): boolean {
  const m = /^\/dev\/([^/]+)\/[^/]+$/.exec(spec);
  return !!m && vgs.has(m[1] as string);
}

/** A golden node without /etc/fstab (rare): mount / and the others by their new UUIDs. */
function rootOnly(layout: SourceLayout): string {
  const lines = ["# written by xcimg clone: the golden node had no /etc/fstab"];
  const mounted = layout.filesystems.filter((f) => f.mountpoint).sort((a, b) => depth(a.mountpoint as string) - depth(b.mountpoint as string));
  for (const f of mounted) lines.push(`@XC:${f.id}@ ${f.mountpoint} ${f.fstype} defaults 0 ${f.mountpoint === "/" ? 1 : 2}`);
  for (const s of layout.swaps) lines.push(`@XC:${s.id}@ none swap sw 0 0`);
  return `${lines.join("\n")}\n`;
}

export function depth(mountpoint: string): number {
  return mountpoint === "/" ? 0 : mountpoint.split("/").length - 1;
}
