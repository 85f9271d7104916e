import { join } from "node:path";
import { readable } from "../fs/predicates";
import { customDir } from "../image/xcat-dirs";
import { builtinFile, type InstallerFamily } from "./builtin";

/**
 * Finding an image's install template and package list the way xCAT does (SvrUtils
 * get_file_name, anaconda/sles/debian getplatform): in <installdir>/custom/install/<platform>/
 * first, trying `<profile>.<os>.<arch>.<ext>`, `<profile>.<os>.<ext>`, then the same with each
 * shorter OS version (rhels9.4 → rhels9.3 … rhels9.0, rhels9), then `<profile>.<arch>.<ext>` and
 * `<profile>.<ext>`; then xcimg's built-in file (xCAT's /opt/xcat/share/xcat/install).
 */

/** xCAT's platform directory for an osvers (rhels9.4 → rh, rocky9.4 → rocky, sle15.5 → sles). */
export function platformOf(osvers: string): string | undefined {
  const rules: [RegExp, string][] = [
    [/^rh/, "rh"],
    [/^centos/, "centos"],
    [/^alma/, "alma"],
    [/^rocky/, "rocky"],
    [/^fedora/, "fedora"],
    [/^SL/, "SL"],
    [/^ol/, "ol"],
    [/^(sles|sle|leap)/, "sles"],
    [/^debian/, "debian"],
    [/^ubuntu/, "ubuntu"],
  ];
  return rules.find(([re]) => re.test(osvers))?.[1];
}

/** Which installer a platform uses: anaconda (kickstart), YaST (AutoYaST) or debian-installer (preseed). */
export function familyOf(platform: string): InstallerFamily | undefined {
  if (["rh", "centos", "alma", "rocky", "fedora", "SL", "ol"].includes(platform)) return "rh";
  if (platform === "sles") return "sles";
  if (platform === "debian" || platform === "ubuntu") return "debian";
  return undefined;
}

/** SvrUtils get_os_search_list: rhels9.4 → [rhels9.4, rhels9.3, …, rhels9.0, rhels9]. */
export function osSearchList(osvers: string): string[] {
  const base = osvers.split("-")[0] ?? osvers;
  const words = base.split(".");
  const out: string[] = [];
  while (words.length && /^\d+$/.test(words[words.length - 1] as string)) {
    let last = words.pop() as string;
    if (/^0\d+$/.test(last)) {
      out.push([...words, last].join("."));
      return out;
    }
    for (let n = Number(last); n >= 0; n--) {
      last = String(n).padStart(last.length, "0");
      out.push([...words, last].join("."));
      if (/^0\d/.test(last)) out.push([...words, String(n)].join("."));
    }
  }
  out.push(words.join("."));
  if (/^leap15(\..*)?$/.test(base)) out.push("sle15");
  return out;
}

/** get_file_name in one directory. */
export function findInDir(dir: string, ext: string, profile: string, osvers: string, arch: string): string | undefined {
  const candidates = [`${profile}.${osvers}.${arch}.${ext}`, `${profile}.${osvers}.${ext}`];
  for (const os of osSearchList(osvers)) candidates.push(`${profile}.${os}.${arch}.${ext}`, `${profile}.${os}.${ext}`);
  candidates.push(`${profile}.${arch}.${ext}`, `${profile}.${ext}`);
  for (const c of candidates) {
    const p = join(dir, c);
    if (readable(p)) return p;
  }
  return undefined;
}

/** Install templates and pkglists: xCAT's custom/install/<platform>/ (Template.pm). */
export function customInstallDir(installdir: string, platform: string): string {
  return customDir(installdir, "diskful", platform);
}

/** The site's file if it has one, else the built-in one, else undefined. */
export function findInstallFile(installdir: string, osvers: string, arch: string, profile: string, ext: "tmpl" | "pkglist"): string | undefined {
  const platform = platformOf(osvers);
  if (!platform) return undefined;
  const custom = findInDir(customInstallDir(installdir, platform), ext, profile, osvers, arch);
  if (custom) return custom;
  const family = familyOf(platform);
  return family ? builtinFile(family, profile, ext) : undefined;
}
