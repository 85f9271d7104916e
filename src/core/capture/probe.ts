import { NotFoundError, RemoteError } from "../errors";
import { shq, toBinary } from "../remote/shell";
import type { RemoteSession } from "../remote/ssh";
import { type ClassifiedMount, LOCAL_FS, type Mount, parseMountinfo, parseProcMounts } from "./mounts";
import { archFromElf, normalizeArch, parseOsRelease, xcatOsvers } from "./osvers";

/**
 * One read-only round trip that learns everything a capture needs about the node: its
 * architecture and OS, whether its tar can carry a root filesystem, its mounts, kernels and
 * (for sysclone) disk layout. It also makes the capture's scratch directory on a tmpfs
 * (/dev/shm, else /run), where the tar snapshot file lives: nothing is written to the node's
 * disks. Sections are framed by marker lines so any output a login shell adds is ignored.
 */
export const TAR_OPTIONS = [
  "format",
  "xattrs",
  "xattrs-include",
  "acls",
  "sparse",
  "listed-incremental",
  "no-check-device",
  "anchored",
  "wildcards-match-slash",
  "numeric-owner",
] as const;

const MARK = "@@XCIMG-PROBE@@";

export function probeScript(root: string, layout: boolean): string {
  const types = LOCAL_FS.join(",");
  return `
LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/sbin:/sbin"; export PATH
sec() { printf '\\n${MARK} %s\\n' "$1"; }
sec begin
ROOT=${shq(toBinary(root))}
if ! cd "$ROOT" 2>/dev/null; then sec noroot; exit 0; fi
sec root; pwd -P
sec uname; uname -m
sec elf
for f in usr/bin/env bin/env usr/bin/ls bin/ls; do if [ -f "$f" ] && [ ! -L "$f" ]; then od -An -tx1 -N20 "$f" 2>/dev/null; break; fi; done
sec os-release; cat etc/os-release 2>/dev/null || cat usr/lib/os-release 2>/dev/null
sec redhat-release; cat etc/redhat-release 2>/dev/null || cat etc/centos-release 2>/dev/null
sec suse-release; cat etc/SuSE-release 2>/dev/null
sec tar
T=$(command -v tar 2>/dev/null)
if [ -n "$T" ]; then
  echo "$T"; "$T" --version 2>&1 | head -n 1
  H=$("$T" --help 2>&1)
  for o in ${TAR_OPTIONS.join(" ")}; do case "$H" in *"--$o"*) echo "opt $o yes";; *) echo "opt $o no";; esac; done
fi
sec mountinfo; cat /proc/self/mountinfo 2>/dev/null
sec mounts; [ -r /proc/self/mountinfo ] || cat /proc/self/mounts 2>/dev/null
sec firmware; if [ -d /sys/firmware/efi ]; then echo uefi; else echo bios; fi
sec findmnt; if command -v findmnt >/dev/null 2>&1; then findmnt -J -b -t ${types} -o TARGET,SOURCE,FSTYPE,OPTIONS,SIZE,USED,AVAIL,UUID,LABEL,PARTUUID 2>&1; else echo "@missing"; fi
sec boot; ls -1A boot 2>/dev/null
sec modules; ls -1A lib/modules 2>/dev/null || ls -1A usr/lib/modules 2>/dev/null
${layout ? layoutScript() : ""}
sec tmp
for b in /dev/shm /run /tmp; do
  d=$(mktemp -d "$b/xcimg-capture.XXXXXX" 2>/dev/null) && { echo "$d"; break; }
done
find /dev/shm /run /tmp -maxdepth 1 -name 'xcimg-capture.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null
sec end
`;
}

/** Disk layout for sysclone: what clone needs to partition and format a disk like this one. */
function layoutScript(): string {
  return `
have() { command -v "$1" >/dev/null 2>&1; }
sec lsblk; if have lsblk; then lsblk -J -b -O 2>&1; else echo "@missing"; fi
if have lsblk; then
  for d in $(lsblk -dn -o NAME,TYPE 2>/dev/null | while read -r n t; do [ "$t" = disk ] && echo "$n"; done); do
    sec "sfdisk $d"; if have sfdisk; then sfdisk --json "/dev/$d" 2>&1 || sfdisk -d "/dev/$d" 2>&1; else echo "@missing"; fi
  done
fi
sec blkid; if have blkid; then blkid -o export 2>&1; else echo "@missing"; fi
sec swaps; cat /proc/swaps 2>/dev/null
sec pvs; if have pvs; then pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,pv_size,pv_uuid,dev_size 2>/dev/null; else echo "@missing"; fi
sec vgs; if have vgs; then vgs --reportformat json --units b --nosuffix -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size 2>/dev/null; else echo "@missing"; fi
sec lvs; if have lvs; then lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_uuid,lv_size,lv_path,lv_attr,segtype 2>/dev/null; else echo "@missing"; fi
sec mdstat; cat /proc/mdstat 2>/dev/null
sec fstab; cat etc/fstab 2>/dev/null
`;
}

/** Output sections, name → raw bytes (trailing newline removed). */
export function splitSections(out: Buffer): Map<string, Buffer> {
  const sections = new Map<string, Buffer>();
  const marker = Buffer.from(`\n${MARK} `, "latin1");
  let pos = out.indexOf(marker);
  while (pos >= 0) {
    const nameStart = pos + marker.length;
    const nameEnd = out.indexOf(0x0a, nameStart);
    if (nameEnd < 0) break;
    const name = out.subarray(nameStart, nameEnd).toString("latin1");
    const next = out.indexOf(marker, nameEnd);
    let body = out.subarray(nameEnd + 1, next < 0 ? out.length : next);
    if (body.at(-1) === 0x0a) body = body.subarray(0, -1);
    sections.set(name, body);
    pos = next;
  }
  return sections;
}

export interface Kernel {
  version: string;
  kernel: string;
  initrd: string | null;
  /** lib/modules/<version> exists in the tree. */
  modules: boolean;
}

export interface TarInfo {
  path: string;
  version: string;
  missing: string[];
}

export interface NodeFacts {
  /** The capture root's real path on the node (binary string). */
  root: string;
  arch: string;
  osvers: string | null;
  osRelease: Record<string, string>;
  tar: TarInfo | null;
  mounts: Mount[];
  firmware: string;
  /** findmnt JSON of local filesystems (sizes in bytes), when findmnt exists. */
  findmnt: unknown;
  kernels: Kernel[];
  layout: DiskLayout | null;
  /** The scratch directory made on the node's tmpfs. */
  tmpdir: string | null;
}

export interface DiskLayout {
  firmware: string;
  lsblk: unknown;
  partitionTables: Record<string, unknown>;
  blkid: Record<string, Record<string, string>>;
  filesystems: unknown;
  swaps: { device: string; type: string; size: number; priority: number }[];
  lvm: { pvs: unknown; vgs: unknown; lvs: unknown } | null;
  mdstat: string | null;
  fstab: string | null;
  /** What could not be read, and why ("sfdisk: not installed"). */
  missing: string[];
}

const utf8 = (b: Buffer | undefined) => (b ? b.toString("utf8") : "");
const latin1 = (b: Buffer | undefined) => (b ? b.toString("latin1") : "");

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text === "" ? null : { raw: text };
  }
}

/** Kernel images under /boot with their initrds and module trees. */
export function findKernels(bootList: string, modulesList: string): Kernel[] {
  const boot = bootList.split("\n").filter(Boolean);
  const modules = new Set(modulesList.split("\n").filter(Boolean));
  const out: Kernel[] = [];
  for (const f of boot) {
    const m = /^(?:vmlinuz|vmlinux|Image|kernel|bzImage)-(.+)$/.exec(f);
    if (!m || f.endsWith(".hmac") || f.endsWith(".sig")) continue;
    const v = m[1] as string;
    if (/rescue/.test(v)) continue;
    const initrd = [`initrd.img-${v}`, `initramfs-${v}.img`, `initrd-${v}`, `initrd-${v}.img`].find((c) => boot.includes(c)) ?? null;
    out.push({ version: v, kernel: `/boot/${f}`, initrd: initrd ? `/boot/${initrd}` : null, modules: modules.has(v) });
  }
  return out.sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
}

function parseLayout(s: Map<string, Buffer>, firmware: string): DiskLayout {
  const missing: string[] = [];
  const get = (name: string, tool: string): string | null => {
    const t = utf8(s.get(name)).trim();
    if (t === "@missing") {
      missing.push(`${tool}: not installed on the node`);
      return null;
    }
    return t;
  };
  const lsblkText = get("lsblk", "lsblk (util-linux)");
  const partitionTables: Record<string, unknown> = {};
  for (const [name, body] of s) {
    if (!name.startsWith("sfdisk ")) continue;
    const text = utf8(body).trim();
    if (text === "@missing") {
      if (!missing.includes("sfdisk: not installed on the node")) missing.push("sfdisk: not installed on the node");
      continue;
    }
    partitionTables[`/dev/${name.slice(7)}`] = json(text);
  }
  const blkid: Record<string, Record<string, string>> = {};
  const blkidText = get("blkid", "blkid (util-linux)");
  if (blkidText) {
    let cur: Record<string, string> | null = null;
    for (const line of blkidText.split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (!m) {
        cur = null;
        continue;
      }
      if (m[1] === "DEVNAME") {
        cur = {};
        blkid[m[2] as string] = cur;
      } else if (cur) cur[m[1] as string] = m[2] as string;
    }
  }
  const swaps = utf8(s.get("swaps"))
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5)
    .map((f) => ({ device: f[0] as string, type: f[1] as string, size: Number(f[2]) * 1024, priority: Number(f[4]) }));
  const pvs = get("pvs", "LVM (pvs)");
  const vgs = get("vgs", "LVM (vgs)");
  const lvs = get("lvs", "LVM (lvs)");
  const mdstat = utf8(s.get("mdstat")).trim();
  return {
    firmware,
    lsblk: lsblkText ? json(lsblkText) : null,
    partitionTables,
    blkid,
    filesystems: null,
    swaps,
    lvm: pvs === null && vgs === null && lvs === null ? null : { pvs: pvs ? json(pvs) : null, vgs: vgs ? json(vgs) : null, lvs: lvs ? json(lvs) : null },
    mdstat: mdstat && !/^Personalities : \[?\]?\s*unused devices: <none>$/s.test(mdstat) ? mdstat : null,
    fstab: s.has("fstab") ? utf8(s.get("fstab")) : null,
    missing,
  };
}

export function parseProbe(out: Buffer, rootArg: string, layout: boolean): NodeFacts {
  const s = splitSections(out);
  if (!s.has("begin")) throw new RemoteError("the node did not run the probe script (is /bin/sh its login shell's sh?)");
  if (s.has("noroot")) {
    throw new NotFoundError(`${rootArg} does not exist on the node or is not a directory`, { hint: "--rootdir names a directory on the golden node" });
  }
  if (!s.has("end")) throw new RemoteError("the probe of the node stopped early", { hint: "run with -v to see its output" });
  const root = latin1(s.get("root")).trim() || rootArg;
  const elfArch = archFromElf(utf8(s.get("elf")));
  const arch = normalizeArch(elfArch ?? utf8(s.get("uname")).trim());
  const osReleaseText = utf8(s.get("os-release"));
  const osvers = xcatOsvers({ osRelease: osReleaseText, redhatRelease: utf8(s.get("redhat-release")), suseRelease: utf8(s.get("suse-release")) });
  const tarLines = utf8(s.get("tar")).split("\n").filter(Boolean);
  let tar: TarInfo | null = null;
  if (tarLines.length >= 2) {
    const missing: string[] = [];
    for (const l of tarLines.slice(2)) {
      const m = /^opt (\S+) (yes|no)$/.exec(l);
      if (m && m[2] === "no") missing.push(`--${m[1]}`);
    }
    tar = { path: tarLines[0] as string, version: tarLines[1] as string, missing };
  }
  const mountinfo = latin1(s.get("mountinfo"));
  const mounts = mountinfo.trim() ? parseMountinfo(mountinfo) : parseProcMounts(latin1(s.get("mounts")));
  const firmware = utf8(s.get("firmware")).trim() || "unknown";
  const findmntText = utf8(s.get("findmnt")).trim();
  const findmnt = findmntText && findmntText !== "@missing" ? json(findmntText) : null;
  const kernels = findKernels(latin1(s.get("boot")), latin1(s.get("modules")));
  const lay = layout ? parseLayout(s, firmware) : null;
  if (lay) {
    lay.filesystems = findmnt;
    if (findmntText === "@missing") lay.missing.push("findmnt: not installed on the node (no filesystem sizes)");
  }
  const tmp = latin1(s.get("tmp")).trim();
  return { root, arch, osvers, osRelease: parseOsRelease(osReleaseText), tar, mounts, firmware, findmnt, kernels, layout: lay, tmpdir: tmp || null };
}

/**
 * The probe's answer is a few KiB to a few hundred (mountinfo, lsblk -O of many disks); more
 * than this means a node file is absurdly large, and it is refused before it fills memory.
 */
export const MAX_PROBE_OUTPUT = 16 * 1024 * 1024;

export async function probeNode(session: RemoteSession, root: string, layout: boolean, signal?: AbortSignal): Promise<NodeFacts> {
  const r = await session.run("/bin/sh -s", {
    stdin: Buffer.from(probeScript(root, layout), "latin1"),
    signal,
    maxStdout: MAX_PROBE_OUTPUT,
    what: "the capture probe",
  });
  return parseProbe(r.stdout, root, layout);
}

/** The node can stream a root filesystem, or a RemoteError saying exactly what it lacks. */
export function requireUsableTar(facts: NodeFacts, where: string): void {
  const t = facts.tar;
  if (!t) throw new RemoteError(`${where} has no tar: GNU tar 1.27 or newer is needed to stream its files`, { hint: "install the 'tar' package on the node" });
  if (!/GNU tar/.test(t.version))
    throw new RemoteError(`the tar on ${where} is not GNU tar (${t.path}: '${t.version}')`, { hint: "install GNU tar 1.27 or newer on the node" });
  if (t.missing.length) {
    throw new RemoteError(
      `GNU tar on ${where} (${t.version}) lacks ${t.missing.join(", ")}, needed to carry xattrs, ACLs and sparse files and to capture incrementally`,
      {
        hint: "install GNU tar 1.27 or newer on the node",
      },
    );
  }
  if (!facts.tmpdir) throw new RemoteError(`cannot create a scratch directory in /dev/shm, /run or /tmp on ${where}`);
}

/** Used bytes of the filesystems being captured, for the ETA of a full capture of /. */
export function usedBytes(facts: NodeFacts, mounts: ClassifiedMount[]): number | null {
  const fs = (facts.findmnt as { filesystems?: unknown[] } | null)?.filesystems;
  if (!fs) return null;
  const flat: { target?: string; used?: number }[] = [];
  const walk = (list: unknown[]) => {
    for (const f of list as { target?: string; used?: number; children?: unknown[] }[]) {
      flat.push(f);
      if (f.children) walk(f.children);
    }
  };
  walk(fs);
  const captured = new Set(mounts.filter((m) => m.action !== "excluded").map((m) => Buffer.from(m.mountpoint, "latin1").toString("utf8")));
  const total = flat.filter((f) => f.target && captured.has(f.target)).reduce((n, f) => n + (Number(f.used) || 0), 0);
  return total > 0 ? total : null;
}
