import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Config } from "../config/schema";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { DataError, fsError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import { imageFacts } from "../image/method-facts";
import { rootImgDir } from "../image/paths";
import { PACKED_IMAGE } from "../pack/outputs";
import { FileDigestCache } from "./digest-cache";
import { type PackageList, packageList } from "./packages";
import { type DigestCache, digestFile, digestTree, type TreeDigest } from "./tree-digest";

/**
 * The image manifest (docs/provenance.md): what an image is, the digests of every file a node
 * boots from and of its root tree, its packages, and how it was made. It is stored next to
 * the image as xcimg-manifest.json and is what `xcimg image sign` signs; its bytes are signed
 * as they are, so it is written once per change and never re-serialised behind a signature.
 */
export const MANIFEST_FORMAT = "xcimg-image-manifest/1";
export const MANIFEST_FILE = "xcimg-manifest.json";
export const SIGNATURE_SUFFIX = ".sig";

export interface Identity {
  name: string;
  provmethod: string;
  osvers: string;
  osarch: string;
  profile: string;
}

export type Origin =
  | { how: "capture"; node: string; address?: string; type?: string; level?: string; rootdir?: string | null; at: string }
  | { how: "import"; bundle: string; signer: string | null; key: string | null; at: string; upstream?: Origin }
  | { how: "unknown" };

export interface Artifact {
  sha256: string;
  size: number;
}

export interface ImageManifest {
  format: typeof MANIFEST_FORMAT;
  identity: Identity;
  /** Files nodes boot or clone from, relative to the image directory (sysclone: clone/<file>). */
  artifacts: Record<string, Artifact>;
  /** The root tree, relative to the image directory ("." for sysclone), or null when absent. */
  tree: ({ path: string } & TreeDigest) | null;
  packages: PackageList;
  origin: Origin;
  /** When this content was first recorded (kept while nothing else changes). */
  made: string;
  /** Only in a bundle's copy: every member of the bundle (bundle-statement.ts). */
  bundle?: unknown;
}

/** Where an image's manifest lives: in its directory, or beside it when the directory is the tree nodes get (sysclone). */
export function manifestPath(config: Config, img: Image): string {
  const dir = rootImgDir(config, img);
  if (imageFacts(img.attrs.provmethod).tree === ".") return join(dirname(dir), `${basename(dir)}.${MANIFEST_FILE}`);
  return join(dir, MANIFEST_FILE);
}

export function treeOf(config: Config, img: Image): { path: string; abs: string } | null {
  const dir = rootImgDir(config, img);
  // an image without a tree (install) is looked for in rootimg/ as well, as it always was
  const rel = imageFacts(img.attrs.provmethod).tree === "." ? "." : "rootimg";
  const abs = rel === "." ? dir : join(dir, rel);
  try {
    return statSync(abs).isDirectory() ? { path: rel, abs } : null;
  } catch {
    return null;
  }
}

/** netboot/statelite files next to rootimg/ that nodes fetch; pack's and liteimg's outputs. */
const BOOT_ARTIFACT = /^(kernel|initrd-[A-Za-z0-9_.-]+\.gz|rootimg-statelite\.gz|rootimgtree\.gz|statelite)$/;

function listFiles(dir: string, wanted: (name: string) => boolean): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => wanted(n) && statSync(join(dir, n)).isFile())
      .sort();
  } catch {
    return [];
  }
}

export function artifactFiles(config: Config, img: Image): Map<string, string> {
  const own = imageFacts(img.attrs.provmethod).artifacts;
  if (own) return own(config, img.name); // sysclone: what clone prepared, as clone/<file>
  const out = new Map<string, string>();
  const dir = rootImgDir(config, img);
  for (const n of listFiles(dir, (n) => BOOT_ARTIFACT.test(n) || (PACKED_IMAGE.test(n) && !n.endsWith(".metainfo")))) {
    out.set(n, join(dir, n));
  }
  return out;
}

export function identityOf(img: Image): Identity {
  const a = img.attrs;
  return { name: img.name, provmethod: a.provmethod ?? "", osvers: a.osvers ?? "", osarch: a.osarch ?? "", profile: a.profile ?? "" };
}

export function computeManifest(
  config: Config,
  img: Image,
  origin: Origin,
  made = new Date().toISOString(),
  opts: { cache?: DigestCache } = {},
): ImageManifest {
  const artifacts: Record<string, Artifact> = {};
  for (const [rel, abs] of artifactFiles(config, img)) artifacts[rel] = digestFile(abs);
  const tree = treeOf(config, img);
  const digest = tree ? { path: tree.path, ...digestTree(tree.abs, { cache: opts.cache }) } : null;
  return {
    format: MANIFEST_FORMAT,
    identity: identityOf(img),
    artifacts,
    tree: digest,
    packages: packageList(tree?.abs ?? null),
    origin,
    made,
  };
}

export function manifestText(m: ImageManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** Parse a manifest (ours or a bundle's); anything not shaped like one is bad data. */
export function parseManifest(text: string, where: string): ImageManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  const o = m as Partial<ImageManifest>;
  if (!o || typeof o !== "object" || o.format !== MANIFEST_FORMAT) throw new DataError(`${where} is not an xcimg image manifest (format ${MANIFEST_FORMAT})`);
  if (!o.identity || typeof o.identity.name !== "string" || !o.artifacts || typeof o.artifacts !== "object" || !o.origin)
    throw new DataError(`${where} lacks identity, artifacts or origin`);
  for (const [k, v] of Object.entries(o.artifacts)) {
    if (!v || typeof v.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(v.sha256) || typeof v.size !== "number")
      throw new DataError(`${where}: artifact ${k} has no valid sha256/size`);
  }
  return o as ImageManifest;
}

export interface StoredManifest {
  path: string;
  text: string;
  manifest: ImageManifest;
  /** The armored signature next to it, if any. */
  signature: string | null;
}

export function readStoredManifest(config: Config, img: Image): StoredManifest | null {
  const path = manifestPath(config, img);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw fsError(e, `cannot read ${path}`);
  }
  let signature: string | null = null;
  try {
    signature = readFileSync(path + SIGNATURE_SUFFIX, "utf8");
  } catch {
    signature = null;
  }
  return { path, text, manifest: parseManifest(text, path), signature };
}

/** The content that matters: everything but the time it was recorded. */
function sameContent(a: ImageManifest, b: ImageManifest): boolean {
  const strip = (m: ImageManifest) => JSON.stringify({ ...m, made: "" });
  return strip(a) === strip(b);
}

/**
 * Recompute and store an image's manifest after pack, lite, capture or import. The origin is
 * kept unless a new one is given (pack changes the archives, not how the tree was made). A
 * manifest whose content did not change is left alone, signature and all; one that changed
 * loses its signature, which no longer covers it.
 */
export function refreshManifest(ctx: Context, img: Image, origin?: Origin): { path: string; changed: boolean; manifest: ImageManifest } {
  const path = manifestPath(ctx.config, img);
  let old: StoredManifest | null = null;
  try {
    old = readStoredManifest(ctx.config, img);
  } catch (e) {
    ctx.log.warn(`replacing an unreadable ${path}: ${(e as Error).message}`);
  }
  const cache = existsSync(dirname(path)) ? new FileDigestCache(`${path}.cache`) : undefined;
  const fresh = computeManifest(ctx.config, img, origin ?? old?.manifest.origin ?? { how: "unknown" }, undefined, { cache });
  cache?.save();
  if (old && sameContent(old.manifest, fresh)) return { path, changed: false, manifest: old.manifest };
  if (!existsSync(dirname(path))) return { path, changed: false, manifest: fresh };
  writeFileAtomic(path, manifestText(fresh), 0o644);
  if (old?.signature) {
    rmSync(path + SIGNATURE_SUFFIX, { force: true });
    ctx.log.warn(`${img.name} changed since it was signed; its signature was removed (sign it again with 'xcimg image sign ${img.name}')`);
  }
  ctx.log.debug(`wrote ${path}`);
  return { path, changed: true, manifest: fresh };
}
