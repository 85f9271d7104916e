import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DataError, fsError } from "../errors";
import { customDir, shippedDir } from "../image/xcat-dirs";
import { type ClassifiedMount, escapeGlob } from "./mounts";

/**
 * What a capture leaves out, with xCAT imgcapture's semantics (xcat.md §2.1): patterns are
 * `find -path` style, anchored at the capture root, written `./dir/*`, and `*` matches `/`
 * too. xCAT's built-in list applies unless an `<profile>.<os>.<arch>.imgcapture.exlist` file
 * is found (searched in <installdir>/custom/netboot/<distname>/, then
 * /opt/xcat/share/xcat/netboot/<distname>/); -x patterns and --exclude-file add to it, and so
 * does every mount that must not be copied.
 */
export const XCAT_DEFAULT_EXCLUDES = ["./tmp/*", "./proc/*", "./sys/*", "./dev/*", "./xcatpost/*", "./install/*"];

export const XCATROOT = "/opt/xcat";

/** SvrUtils::get_os_search_list: rhels8.5 → rhels8.5 … rhels8.0, rhels8; ubuntu22.04 → ubuntu22.04. */
export function osSearchList(os: string): string[] {
  const [baseos = ""] = os.split("-");
  const word = baseos.split(".");
  const list: string[] = [];
  while (word.length && /^[0-9]+$/.test(word.at(-1) as string)) {
    let last = word.pop() as string;
    if (/^0[0-9]+$/.test(last)) {
      list.push([...word, last].join("."));
      return list;
    }
    while (Number(last) >= 0) {
      list.push([...word, last].join("."));
      if (/^0[0-9]/.test(last)) list.push([...word, String(Number(last))].join("."));
      last = String(Number(last) - 1).padStart(last.length, "0");
    }
  }
  list.push(word.join("."));
  if (/^leap15(\..*)?$/.test(baseos)) list.push("sle15");
  return list;
}

/** SvrUtils::get_file_name for extension imgcapture.exlist in one directory. */
function fileIn(dir: string, profile: string, os: string, arch: string): string | null {
  const ext = "imgcapture.exlist";
  const candidates = [`${profile}.${os}.${arch}.${ext}`, `${profile}.${os}.${ext}`];
  for (const osbase of osSearchList(os)) candidates.push(`${profile}.${osbase}.${arch}.${ext}`, `${profile}.${osbase}.${ext}`);
  candidates.push(`${profile}.${arch}.${ext}`, `${profile}.${ext}`);
  for (const c of candidates) if (existsSync(join(dir, c))) return join(dir, c);
  return null;
}

/**
 * The exlist file for a capture, or null. distname is the osvers shortened one character at
 * a time until a netboot directory of that name exists (rhels9.4 → rh), as xCAT does.
 */
export function findExlist(installdir: string, profile: string, os: string, arch: string, xcatroot = XCATROOT): string | null {
  // imgcapture reads the diskless directories for every -t
  const dirsFor = (d: string) => [customDir(installdir, "diskless", d), shippedDir(xcatroot, "diskless", d)];
  let distname = os;
  while (distname && !dirsFor(distname).some((d) => existsSync(d))) distname = distname.slice(0, -1);
  if (!distname) return null;
  for (const dir of dirsFor(distname)) {
    const f = fileIn(dir, profile, os, arch);
    if (f) return f;
  }
  return null;
}

/** `/var/x`, `var/x` and `./var/x` all mean the same path under the capture root. */
export function normalizePattern(p: string): string {
  if (p.startsWith("./")) return p;
  if (p === ".") return p;
  if (p.startsWith("/")) return `.${p}`;
  return `./${p}`;
}

/** Lines of an exlist: `#` comments and blank lines skipped, leading blanks stripped. */
export function parseExcludeList(text: string, source: string, warn: (m: string) => void): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^\s+/, "").replace(/\r$/, "");
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("+")) {
      warn(`${source}: '${line}' is an include line; capture exclude lists only exclude (ignored)`);
      continue;
    }
    out.push(normalizePattern(line));
  }
  return out;
}

export function readExcludeFile(path: string, warn: (m: string) => void): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw fsError(e, `cannot read exclude file ${path}`);
  }
  return parseExcludeList(text, path, warn);
}

export interface ExcludeSet {
  /** Where the base list came from: an exlist path or "built-in". */
  base: string;
  /** Every pattern, in order: base list, mounts, -x, --exclude-file. UTF-8 strings. */
  patterns: string[];
  /** The mount-derived patterns, binary strings (exact bytes of the node's paths). */
  mountPatterns: string[];
}

export function buildExcludes(opts: {
  installdir: string;
  profile: string;
  osvers: string;
  arch: string;
  mounts: readonly ClassifiedMount[];
  cli: readonly string[];
  fileLists: readonly string[];
  warn: (m: string) => void;
  xcatroot?: string;
}): ExcludeSet {
  const exlist = findExlist(opts.installdir, opts.profile, opts.osvers, opts.arch, opts.xcatroot);
  const base = exlist ? readExcludeFile(exlist, opts.warn) : XCAT_DEFAULT_EXCLUDES;
  const mountPatterns = opts.mounts.filter((m) => m.action === "excluded").map((m) => `${escapeGlob(m.member)}/*`);
  const cli = opts.cli.map((p) => {
    if (p.trim() === "") throw new DataError("an empty exclude pattern (-x '') would match nothing; remove it");
    return normalizePattern(p);
  });
  return { base: exlist ?? "built-in", patterns: [...base, ...cli, ...opts.fileLists], mountPatterns };
}
