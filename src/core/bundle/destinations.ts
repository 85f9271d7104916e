import { posix } from "node:path";
import { DataError } from "../errors";
import { isInside } from "../image/paths";
import { allMethodFacts } from "../provmethod/facts";
import { XCAT_SHARE } from "./find-files";
import { fileRefs, type Manifest, setFileRef } from "./manifest";
import { platformOf } from "./manifest-cfg";
import { bundleFacts, layoutDir } from "./method";

/**
 * Where a bundle's files may land. xCAT's imgimport writes wherever the manifest says; a
 * bundle from a stranger could name /etc/cron.d. xcimg maps and confines every path:
 * - paths under the exporting site's installdir (read from the manifest's own layout,
 *   default /install) move under this site's installdir;
 * - xCAT's shipped lists (/opt/xcat/share/xcat/<install|netboot>/<platform>/...) become
 *   site copies under <installdir>/custom/<install|netboot>/<platform>/, where xCAT's own
 *   `imgimport -f` would put them;
 * - anything else must lie inside a directory given with --allow-dest.
 */
export function normaliseAbsolute(p: string, what: string): string {
  if (!p.startsWith("/")) throw new DataError(`manifest.xml: ${what} '${p}' is not an absolute path`);
  if (p.includes("\0") || p.includes("\n")) throw new DataError(`manifest.xml: ${what} contains a control character`);
  if (p.split("/").includes(".."))
    throw new DataError(`manifest.xml: ${what} '${p}' has a '..' component`, { hint: "a manifest path must not climb out of its directory" });
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/$/, "") : n;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A provmethod's image directory layout (its bundle facts) as a pattern, each {field} one path component. */
function layoutPattern(layout: string): string {
  return layout
    .split(/\{(?:osvers|osarch|profile|imagename)\}/)
    .map(esc)
    .join("[^/]+");
}

/** xCAT's list directories (custom/<lists>/, share/xcat/<lists>/) of every provmethod, as a regex alternative. */
function listDirs(): string {
  return [...new Set(allMethodFacts().map((f) => f.bundle.lists))].map(esc).join("|");
}

/**
 * The installdir of the site that made the bundle, from the paths its manifest holds: the
 * image directory in a provmethod's layout (the image's own first), a boot file in one, or
 * a list under custom/.
 */
export function sourceInstalldir(m: Manifest): string {
  const own = bundleFacts(m.osimage.provmethod).layout;
  const layouts = [...new Set([own, ...allMethodFacts().map((f) => f.bundle.layout)])].map(layoutPattern);
  const tries: [string | undefined, RegExp][] = [];
  for (const v of [m.linuximage.rootimgdir, m.top.imagetree]) for (const l of layouts) tries.push([v, new RegExp(`^(/.*)/${l}/?$`)]);
  for (const k of ["kernel", "ramdisk", "rootimg", "rootimgtree", "litefile"] as const)
    for (const l of layouts) tries.push([m.top[k], new RegExp(`^(/.*)/${l}/[^/]+$`)]);
  for (const r of fileRefs(m)) tries.push([r.path, new RegExp(`^(/.*)/custom/(${listDirs()})/`)]);
  for (const [v, re] of tries) {
    const hit = v ? re.exec(v) : null;
    if (hit?.[1]) return hit[1];
  }
  return "/install";
}

export interface DestinationRules {
  installdir: string;
  from: string;
  allow: string[];
}

/** Map one manifest path to this site (see above); no check of where it lands. */
export function mapPath(p: string, rules: DestinationRules, what: string): string {
  const n = normaliseAbsolute(p, what);
  if (isInside(n, rules.from) && n !== rules.from) return posix.join(rules.installdir, n.slice(rules.from.length));
  const share = new RegExp(`^${esc(XCAT_SHARE)}/(${listDirs()})/([^/]+)/(.+)$`).exec(n);
  if (share) return posix.join(rules.installdir, "custom", share[1] as string, share[2] as string, share[3] as string);
  return n;
}

/** Refuse a destination outside installdir (and its .xcimg) unless --allow-dest covers it. */
export function checkDestination(p: string, rules: DestinationRules, what: string): void {
  const inInstall = isInside(p, rules.installdir) && p !== rules.installdir && !isInside(p, posix.join(rules.installdir, ".xcimg"));
  if (inInstall) return;
  if (rules.allow.some((d) => isInside(p, d) && p !== d)) return;
  throw new DataError(`the bundle would write ${what} to ${p}, outside installdir ${rules.installdir}`, {
    hint: `check the bundle's manifest.xml; to allow it, rerun with --allow-dest ${posix.dirname(p)}`,
  });
}

/** Rebase every path of the manifest to this site (before -f, as xCAT's paths are relative to it). */
export function rebaseManifest(m: Manifest, rules: DestinationRules): void {
  for (const ref of fileRefs(m)) setFileRef(m, ref, mapPath(ref.path, rules, ref.key));
  if (m.linuximage.rootimgdir) m.linuximage.rootimgdir = mapPath(m.linuximage.rootimgdir, rules, "rootimgdir");
  if (m.top.imagetree) m.top.imagetree = mapPath(m.top.imagetree, rules, "imagetree");
  for (const col of ["pkgdir", "otherpkgdir"] as const) {
    const v = m.linuximage[col];
    if (v?.startsWith("/"))
      m.linuximage[col] = v
        .split(",")
        .map((p) => (p.startsWith("/") ? mapPath(p, rules, col) : p))
        .join(",");
  }
  m.extra = m.extra.map((e) => ({ src: e.src, dest: mapPath(e.dest, rules, "extra dest") }));
}

/**
 * `-f <new profile>` (xCAT change_profile, xcat.md §1.6): new image name, rootimgdir and
 * boot-file paths under this installdir, lists renamed after the profile. Two fixes: the
 * old profile name is matched literally (xCAT uses it as a regex), and an image without
 * rootimgdir still moves its files to the new profile's directory (xCAT would overwrite
 * the old profile's kernel and root image).
 */
export function renameProfile(m: Manifest, newProfile: string, installdir: string): void {
  const oldProfile = m.osimage.profile ?? "";
  if (oldProfile === newProfile) return;
  const { osvers = "", osarch = "", provmethod = "" } = m.osimage;
  m.osimage.profile = newProfile;
  const newName = `${osvers}-${osarch}-${provmethod}-${newProfile}`;
  const facts = bundleFacts(provmethod);
  let dir: string | null = null;
  if (facts.hasImageDir || m.linuximage.rootimgdir) {
    dir = layoutDir(facts.layout, installdir, { osvers, osarch, profile: newProfile, imagename: newName });
    if (m.linuximage.rootimgdir) m.linuximage.rootimgdir = dir;
    if (m.top.imagetree) m.top.imagetree = dir;
  }
  const prov = facts.lists;
  const platform = platformOf(osvers);
  for (const ref of fileRefs(m)) {
    const base = posix.basename(ref.path);
    if (["kernel", "ramdisk", "rootimg", "rootimgtree", "litefile"].includes(ref.key)) {
      if (dir) setFileRef(m, ref, posix.join(dir, base));
      continue;
    }
    const oldDir = posix.dirname(ref.path);
    const newDir = oldDir.startsWith(XCAT_SHARE) ? posix.join(installdir, "custom", prov, platform) : oldDir;
    const at = base.indexOf(oldProfile);
    const newBase = oldProfile && at >= 0 ? base.slice(0, at) + newProfile + base.slice(at + oldProfile.length) : `${newProfile}.${base}`;
    setFileRef(m, ref, posix.join(newDir, newBase));
  }
  m.osimage.imagename = newName;
  m.linuximage.imagename = newName;
}
