import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DataError, NotFoundError } from "../errors";
import { isDir } from "../fs/predicates";
import { splitList } from "./pkglist";

/**
 * linuximage.pkgdir / otherpkgdir, as xCAT reads them: a comma list. For the RPM family each
 * entry is a directory (which becomes a repository itself when it holds repodata/, and so does
 * every subdirectory below it that does: media with BaseOS/ and AppStream/, otherpkgdir trees)
 * or an http(s):// or file:// URL. For Debian/Ubuntu an entry is "<mirror URL> <suite>
 * [components...]", a mirror URL alone (suite from osvers), or a local mirror directory with dists/.
 */
export interface RpmRepo {
  id: string;
  baseurl: string;
  /** Signing keys beside the repository (keysIn): RPM-GPG-KEY*, gpg-pubkey-*.asc, repodata/repomd.xml.key. */
  keys: string[];
}

export function rpmRepos(list: string, prefix: string): RpmRepo[] {
  const out: RpmRepo[] = [];
  for (const entry of splitList(list)) {
    if (/^(https?|file):\/\//.test(entry)) {
      out.push({ id: `${prefix}${out.length + 1}`, baseurl: entry, keys: entry.startsWith("file://") ? keysIn(entry.slice(7)) : [] });
      continue;
    }
    if (!isDir(entry)) throw new NotFoundError(`pkgdir ${entry} does not exist`, { hint: "copy the media there (xcimg image media) or fix linuximage.pkgdir" });
    const found = repoDirs(entry, 0);
    if (!found.length) {
      throw new DataError(`pkgdir ${entry} holds no repository: no repodata/ in it or below it`, {
        hint: `create one with 'createrepo_c ${entry}', or point pkgdir at the media's BaseOS/AppStream directory`,
      });
    }
    for (const d of found) out.push({ id: `${prefix}${out.length + 1}`, baseurl: `file://${d}`, keys: keysUpTo(d, entry) });
  }
  return out;
}

function repoDirs(dir: string, depth: number): string[] {
  if (isDir(join(dir, "repodata"))) return [dir];
  if (depth >= 3) return [];
  const out: string[] = [];
  for (const name of safeList(dir).sort()) {
    const sub = join(dir, name);
    if (isDir(sub)) out.push(...repoDirs(sub, depth + 1));
  }
  return out;
}

/** The keys of a repository directory and of each directory above it up to the pkgdir entry (SUSE media keep theirs in 1/). */
function keysUpTo(repoDir: string, entry: string): string[] {
  const out: string[] = [];
  for (let d = repoDir; ; d = dirname(d)) {
    out.push(...keysIn(d));
    if (d === entry || d.length <= entry.length || dirname(d) === d) break;
  }
  return [...new Set(out)];
}

/**
 * The signing keys media and repositories carry: RPM-GPG-KEY* at the top (RHEL family),
 * gpg-pubkey-*.asc at the top and repodata/repomd.xml.key in each repository (SUSE media).
 */
function keysIn(dir: string): string[] {
  const top = safeList(dir)
    .filter((n) => n.startsWith("RPM-GPG-KEY") || /^gpg-pubkey-.*\.asc$/.test(n))
    .map((n) => join(dir, n));
  const repomd = join(dir, "repodata", "repomd.xml.key");
  return existsSync(repomd) ? [...top, repomd] : top;
}

export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
  /** The keyring that verifies it, when the MN's apt configuration names one. */
  signedBy?: string;
}

/** Debian entries of pkgdir; the first is the one the tree is bootstrapped from. */
export function aptSources(list: string, defaultSuite: string | undefined, hostSources: AptSource[]): AptSource[] {
  const out: AptSource[] = [];
  for (const entry of splitList(list)) {
    const [where = "", suite, ...components] = entry.split(/\s+/);
    const local = !/^[a-z]+:\/\//.test(where);
    if (local && !isDir(join(where, "dists"))) {
      throw new DataError(`pkgdir ${where} is no Debian mirror: it has no dists/ directory`, {
        hint: "use '<mirror URL> <suite>', or a local mirror directory with dists/",
      });
    }
    const uri = local ? `file://${where}` : where;
    const s = suite ?? defaultSuite;
    if (!s)
      throw new DataError(`pkgdir entry '${entry}' names no suite and osvers implies none`, {
        hint: "write the entry as '<mirror URL> <suite>', e.g. 'http://mirror/debian bookworm'",
      });
    const host = hostSources.find((h) => h.uri === uri && h.suite === s);
    out.push({ uri, suite: s, components: components.length ? components : ["main"], signedBy: host?.signedBy });
  }
  return out;
}

/**
 * The MN's own apt sources (deb822 .sources files and sources.list), so an image is built from
 * the mirror this machine already uses when pkgdir names none: no host name is built into xcimg.
 */
export function hostAptSources(etc = "/etc/apt"): AptSource[] {
  const out: AptSource[] = [];
  const dir = join(etc, "sources.list.d");
  for (const f of safeList(dir).sort()) {
    if (f.endsWith(".sources")) out.push(...parseDeb822(safeRead(join(dir, f))));
    else if (f.endsWith(".list")) out.push(...parseOneLine(safeRead(join(dir, f))));
  }
  out.push(...parseOneLine(safeRead(join(etc, "sources.list"))));
  return out;
}

export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    let last = "";
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#")) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = (m[1] as string).toLowerCase();
        f[last] = (m[2] as string).trim();
      } else if (/^\s/.test(line) && last) f[last] = `${f[last]} ${line.trim()}`;
    }
    if (!(f.types ?? "").split(/\s+/).includes("deb") || f.enabled === "no") continue;
    for (const uri of (f.uris ?? "").split(/\s+/).filter(Boolean)) {
      for (const suite of (f.suites ?? "").split(/\s+/).filter(Boolean)) {
        out.push({ uri: uri.replace(/\/+$/, ""), suite, components: (f.components ?? "main").split(/\s+/), signedBy: f["signed-by"] || undefined });
      }
    }
  }
  return out;
}

export function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signed = /signed-by=(\S+)/.exec(m[1] ?? "")?.[1];
    out.push({ uri: (m[2] as string).replace(/\/+$/, ""), suite: m[3] as string, components: (m[4] || "main").split(/\s+/), signedBy: signed });
  }
  return out;
}

/** The host's source for a suite (the security archive is never the bootstrap mirror). */
export function hostMirrorFor(suite: string, host: AptSource[]): AptSource | null {
  return host.find((h) => h.suite === suite) ?? null;
}

/** A URL with any user:password@ removed: what may be written into the tree. */
export function withoutCredentials(uri: string): string {
  return uri.replace(/^([a-z]+:\/\/)[^/@]*@/, "$1");
}

function safeList(dir: string): string[] {
  try {
    return existsSync(dir) ? readdirSync(dir) : [];
  } catch {
    return [];
  }
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}
