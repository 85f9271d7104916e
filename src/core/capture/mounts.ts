/**
 * Which of a node's mounts belong in an image. The mount containing the capture root is
 * always captured (so a diskless node, whose / is tmpfs or overlay, can be captured too,
 * which xCAT refuses: issue #6470). Below it, only local disk filesystems are captured;
 * virtual (proc, sysfs, tmpfs, cgroup, overlay …) and remote (nfs, lustre, gpfs …) ones and
 * anything unknown are excluded, their mount points kept as empty directories with their
 * modes. A local filesystem mounted a second time (a bind mount of the same device) is
 * captured once, where it is mounted first.
 *
 * Paths here are "binary strings": each char is one byte (latin1), so a mount point whose name
 * is not valid UTF-8 still yields an exact exclude pattern.
 */
export interface Mount {
  id: number;
  parent: number;
  dev: string;
  /** Root of the mount within its filesystem ("/" unless a bind mount of a subtree). */
  fsroot: string;
  mountpoint: string;
  fstype: string;
  source: string;
  options: string;
}

export type MountAction = "root" | "captured" | "excluded";
export interface ClassifiedMount {
  mountpoint: string;
  /** Path relative to the capture root, as tar names it: "./boot/efi". */
  member: string;
  fstype: string;
  source: string;
  dev: string;
  action: MountAction;
  reason: string;
}

/** Local disk filesystems whose contents are part of the OS image. */
export const LOCAL_FS = [
  "ext2",
  "ext3",
  "ext4",
  "xfs",
  "btrfs",
  "vfat",
  "msdos",
  "jfs",
  "reiserfs",
  "f2fs",
  "zfs",
  "exfat",
  "ntfs",
  "ntfs3",
  "bcachefs",
  "nilfs2",
  "hfsplus",
];

const VIRTUAL_FS = new Set([
  "proc",
  "sysfs",
  "devtmpfs",
  "devpts",
  "tmpfs",
  "ramfs",
  "rootfs",
  "cgroup",
  "cgroup2",
  "securityfs",
  "pstore",
  "efivarfs",
  "bpf",
  "debugfs",
  "tracefs",
  "configfs",
  "fusectl",
  "mqueue",
  "hugetlbfs",
  "autofs",
  "binfmt_misc",
  "rpc_pipefs",
  "nfsd",
  "selinuxfs",
  "nsfs",
  "overlay",
  "squashfs",
  "iso9660",
  "udf",
  "devfs",
  "usbfs",
]);

const REMOTE_FS = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "ceph",
  "glusterfs",
  "lustre",
  "gpfs",
  "beegfs",
  "9p",
  "virtiofs",
  "afs",
  "pvfs2",
  "orangefs",
  "panfs",
  "ocfs2",
  "gfs2",
  "davfs",
  "cvmfs",
]);

/** Undo the octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) of mountinfo. */
function unoctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parse /proc/self/mountinfo (binary string). */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 6 || f.length < dash + 3) continue;
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      dev: f[2] as string,
      fsroot: unoctal(f[3] as string),
      mountpoint: unoctal(f[4] as string),
      options: f[5] as string,
      fstype: f[dash + 1] as string,
      source: unoctal(f[dash + 2] as string),
    });
  }
  return out;
}

/** Parse /proc/self/mounts, the fallback when mountinfo is unreadable (no device ids). */
export function parseProcMounts(text: string): Mount[] {
  const out: Mount[] = [];
  let id = 1;
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 4) continue;
    out.push({
      id: id++,
      parent: 0,
      dev: "",
      fsroot: "/",
      mountpoint: unoctal(f[1] as string),
      fstype: f[2] as string,
      source: unoctal(f[0] as string),
      options: f[3] as string,
    });
  }
  return out;
}

function kind(fstype: string): { local: boolean; reason: string } {
  if (LOCAL_FS.includes(fstype)) return { local: true, reason: "local filesystem" };
  if (VIRTUAL_FS.has(fstype)) return { local: false, reason: "virtual filesystem" };
  if (REMOTE_FS.has(fstype) || fstype.startsWith("nfs")) return { local: false, reason: "remote filesystem" };
  if (fstype.startsWith("fuse")) return { local: false, reason: "FUSE filesystem" };
  return { local: false, reason: "unknown filesystem type, not captured" };
}

function under(path: string, root: string): boolean {
  return root === "/" ? path.startsWith("/") && path !== "/" : path.startsWith(`${root}/`);
}

function member(path: string, root: string): string {
  return `.${root === "/" ? path : path.slice(root.length)}`;
}

/**
 * Classify the mounts visible under `root` (the capture root's real path). When several
 * mounts stack on one mount point only the last (visible) one counts.
 */
export function classifyMounts(mounts: readonly Mount[], root: string): ClassifiedMount[] {
  const visible = new Map<string, Mount>();
  for (const m of mounts) visible.set(m.mountpoint, m);
  // the mount holding the root: the deepest mount point that is root or an ancestor of it
  let rootMount: Mount | undefined;
  for (const m of visible.values()) {
    if (m.mountpoint === root || m.mountpoint === "/" || root.startsWith(`${m.mountpoint}/`)) {
      if (!rootMount || m.mountpoint.length > rootMount.mountpoint.length) rootMount = m;
    }
  }
  const out: ClassifiedMount[] = [];
  const seenDevs = new Set<string>();
  if (rootMount) {
    out.push({
      mountpoint: rootMount.mountpoint,
      member: ".",
      fstype: rootMount.fstype,
      source: rootMount.source,
      dev: rootMount.dev,
      action: "root",
      reason: "holds the capture root",
    });
    if (rootMount.dev && rootMount.fsroot === "/") seenDevs.add(rootMount.dev);
  }
  const below = [...visible.values()]
    .filter((m) => under(m.mountpoint, root))
    .sort((a, b) => a.mountpoint.length - b.mountpoint.length || cmp(a.mountpoint, b.mountpoint));
  const excluded: string[] = [];
  for (const m of below) {
    if (excluded.some((e) => m.mountpoint.startsWith(`${e}/`))) continue; // inside an excluded mount: never reached
    const k = kind(m.fstype);
    let action: MountAction = k.local ? "captured" : "excluded";
    let reason = k.reason;
    if (k.local && m.dev && seenDevs.has(m.dev)) {
      action = "excluded";
      reason = "a second mount of a filesystem already captured (bind mount)";
    }
    if (action === "captured" && m.dev) seenDevs.add(m.dev);
    if (action === "excluded") excluded.push(m.mountpoint);
    out.push({ mountpoint: m.mountpoint, member: member(m.mountpoint, root), fstype: m.fstype, source: m.source, dev: m.dev, action, reason });
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Escape tar/fnmatch wildcards so a path matches only itself. */
export function escapeGlob(path: string): string {
  return path.replace(/[\\*?[]/g, (c) => `\\${c}`);
}
