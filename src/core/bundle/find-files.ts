import { join } from "node:path";
import { isFile, readable } from "../fs/predicates";
import { PACKED_PREFERENCE } from "../pack/outputs";

/**
 * xCAT imgexport's file discovery (xcat.md §1.2 step 5, §1.3): look_for_file and
 * SvrUtils::searchcompressedrootimg, so an image exports with the same files xCAT would pick.
 */
export const XCAT_SHARE = "/opt/xcat/share/xcat";

export interface LookFor {
  profile: string;
  osarch: string;
  osvers: string;
}

/**
 * look_for_file(type, dirs): in each dir, the distribution directory is osvers chopped one
 * character at a time until `<dir>/<dd>` exists (`win*` → windows); templates and pkglists
 * are `<profile>.<osvers>.<arch>.<ext>`, `<profile>.<osvers>.<ext>`, `<profile>.<arch>.<ext>`,
 * `<profile>.<ext>`; other files are `<dir>/<dd>/<arch>/<profile>/<file>`.
 */
export function lookForFile(file: string, img: LookFor, dirs: readonly string[], trace?: (msg: string) => void): string | null {
  const { profile, osarch: arch, osvers } = img;
  for (const d of dirs) {
    let dd = /win/.test(osvers) ? "windows" : osvers;
    while (dd && !readable(join(d, dd))) {
      trace?.(`not in  ${d}/${dd}...`);
      dd = dd.slice(0, -1);
    }
    if (osvers && (file === "tmpl" || file === "pkglist")) {
      trace?.(`looking in ${d}/${dd}...`);
      for (const name of [`${profile}.${osvers}.${arch}.${file}`, `${profile}.${osvers}.${file}`, `${profile}.${arch}.${file}`, `${profile}.${file}`]) {
        const p = join(d, dd, name);
        if (readable(p)) return p;
      }
    } else {
      const p = join(d, dd, arch, profile, file);
      if (readable(p)) return p;
    }
  }
  return null;
}

/** The packed root image's name, in xCAT's order of preference (SvrUtils::searchcompressedrootimg, plus zstd). */
export function searchCompressedRootimg(rootimgdir: string): string | null {
  for (const n of PACKED_PREFERENCE) if (isFile(join(rootimgdir, n))) return n;
  return null;
}
