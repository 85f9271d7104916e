import { canonicalArch } from "../arch";
/**
 * The OS of a golden node in xCAT's words (nodetype.os / osimage.osvers), so a captured image
 * lands where the site's other images of that OS are and matches its nodes' os= attribute.
 * Names follow xCAT's copycds: rhels9.4, rocky9.4, alma9.4, centos7.9, centos-stream9, ol8.9,
 * fedora40, sle15.5 (SLES 15 and later), sles12.3, leap15.5, debian12, ubuntu22.04.
 */

/** KEY=value lines of /etc/os-release, values unquoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = (m[2] ?? "").trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1] as string] = v.replace(/\\(["$`\\])/g, "$1");
  }
  return out;
}

export interface ReleaseFiles {
  osRelease?: string;
  /** /etc/redhat-release or /etc/centos-release, for systems without os-release (EL6). */
  redhatRelease?: string;
  /** /etc/SuSE-release (SLES 11). */
  suseRelease?: string;
}

const SAFE = /[^A-Za-z0-9._+-]/g;

/** The xCAT osvers, or null when nothing identifies the OS. */
export function xcatOsvers(files: ReleaseFiles): string | null {
  const rel = parseOsRelease(files.osRelease ?? "");
  const id = (rel.ID ?? "").toLowerCase();
  const ver = rel.VERSION_ID ?? "";
  const fromRedhat = files.redhatRelease ? /release\s+([0-9][0-9.]*)/.exec(files.redhatRelease)?.[1]?.split(".").slice(0, 2).join(".") : undefined;
  switch (id) {
    case "rhel":
      return `rhels${ver}`;
    case "centos":
      if (/stream/i.test(rel.NAME ?? "")) return `centos-stream${ver.split(".")[0]}`;
      return `centos${ver.includes(".") ? ver : (fromRedhat ?? ver)}`;
    case "rocky":
      return `rocky${ver}`;
    case "almalinux":
      return `alma${ver}`;
    case "ol":
      return `ol${ver}`;
    case "fedora":
      return `fedora${ver}`;
    case "sles":
    case "sled":
    case "sle_hpc": {
      const major = Number.parseInt(ver, 10);
      return `${major >= 15 ? "sle" : "sles"}${ver}`;
    }
    case "opensuse-leap":
      return `leap${ver}`;
    case "debian":
      return `debian${ver || rel.VERSION_CODENAME || "unstable"}`.replace(SAFE, "");
    case "ubuntu":
      return `ubuntu${ver}`;
    case "":
      break;
    default:
      return `${id}${ver}`.replace(SAFE, "") || null;
  }
  // no os-release: the EL6 / SLES 11 files xCAT's imgcapture parses
  const rh = files.redhatRelease ?? "";
  if (rh) {
    const v = fromRedhat ?? "";
    if (/CentOS/i.test(rh)) return `centos${v}`;
    if (/Red Hat/i.test(rh)) return `rhels${v}`;
    if (/Rocky/i.test(rh)) return `rocky${v}`;
    if (/Alma/i.test(rh)) return `alma${v}`;
    if (/Fedora/i.test(rh)) return `fedora${v}`;
  }
  const suse = files.suseRelease ?? "";
  if (/SUSE Linux Enterprise/i.test(suse)) {
    const v = /VERSION\s*=\s*(\d+)/.exec(suse)?.[1];
    const pl = /PATCHLEVEL\s*=\s*(\d+)/.exec(suse)?.[1];
    if (v) return `sles${v}${pl && pl !== "0" ? `.${pl}` : ""}`;
  }
  return null;
}

/** uname -m or an ELF e_machine → the osarch xCAT uses. */
export function normalizeArch(uname: string): string {
  return canonicalArch(uname) ?? uname.trim();
}

/**
 * The architecture of a directory tree from the first 20 bytes of one of its executables
 * (`od -An -tx1 -N20` output), so `--rootdir` of a foreign-arch chroot is recorded right.
 */
export function archFromElf(odOutput: string): string | null {
  const bytes = odOutput
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((h) => Number.parseInt(h, 16));
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return null;
  const little = bytes[5] === 1;
  const machine = little ? (bytes[18] as number) | ((bytes[19] as number) << 8) : ((bytes[18] as number) << 8) | (bytes[19] as number);
  switch (machine) {
    case 0x3e:
      return "x86_64";
    case 0xb7:
      return "aarch64";
    case 0x15:
      return little ? "ppc64le" : "ppc64";
    case 0x16:
      return "s390x";
    case 0x03:
      return "i686";
    case 0xf3:
      return "riscv64";
    default:
      return null;
  }
}
