import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Config } from "../config/schema";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { DataError, fsError, XcimgError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import { imageFacts } from "../image/method-facts";
import { rootImgDir } from "../image/paths";
import { PACKED_IMAGE } from "../pack/outputs";
import { FileDigestCache } from "./digest-cache";
import { type PackageList, packageList } from "./packages";
import { barrierNs, clearPending, type PendingManifest, readPending } from "./pending";
import { type DigestCache, type DigestOptions, digestFile, digestTree, type TreeDigest } from "./tree-digest";

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
  opts: { cache?: DigestCache; changedAfter?: DigestOptions["changedAfter"] } = {},
): ImageManifest {
  const artifacts: Record<string, Artifact> = {};
  for (const [rel, abs] of artifactFiles(config, img)) artifacts[rel] = digestFile(abs);
  const tree = treeOf(config, img);
  const digest = tree ? { path: tree.path, ...digestTree(tree.abs, { cache: opts.cache, changedAfter: opts.changedAfter }) } : null;
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

/** The manifest a capture replaced (pending.ts), parsed; a damaged one is only forgotten. */
function previousOf(p: PendingManifest, where: string): StoredManifest | null {
  if (!p.previous) return null;
  try {
    return { path: where, text: p.previous.text, manifest: parseManifest(p.previous.text, where), signature: p.previous.signature };
  } catch {
    return null;
  }
}

/**
 * Store `fresh` unless `old` says the same (then `old` stays, or is put back, byte for byte
 * with its signature); a manifest that changed loses the signature that no longer covers it.
 */
function store(ctx: Context, img: Image, path: string, old: StoredManifest | null, fresh: ImageManifest): { changed: boolean; manifest: ImageManifest } {
  if (old && sameContent(old.manifest, fresh)) {
    if (readFileSafe(path) !== old.text) writeFileAtomic(path, old.text, 0o644);
    if (old.signature && readFileSafe(path + SIGNATURE_SUFFIX) !== old.signature) writeFileAtomic(path + SIGNATURE_SUFFIX, old.signature, 0o644);
    return { changed: false, manifest: old.manifest };
  }
  writeFileAtomic(path, manifestText(fresh), 0o644);
  rmSync(path + SIGNATURE_SUFFIX, { force: true });
  if (old?.signature) ctx.log.warn(`${img.name} changed since it was signed; its signature was removed (sign it again with 'xcimg image sign ${img.name}')`);
  ctx.log.debug(`wrote ${path}`);
  return { changed: true, manifest: fresh };
}

function readFileSafe(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function readPendingOrWarn(ctx: Context, path: string): PendingManifest | null {
  try {
    return readPending(path);
  } catch (e) {
    ctx.log.warn(`ignoring an unreadable ${path}.pending: ${(e as Error).message}`);
    return null;
  }
}

/** `2 entries ("etc", "etc/motd")`: what settlePending found changed after a capture. */
export function editedEntries(e: { names: string[]; count: number }): string {
  const more = e.count > e.names.length ? `, ${e.count - e.names.length} more` : "";
  return `${e.count} entr${e.count === 1 ? "y" : "ies"} (${e.names.map((n) => JSON.stringify(n)).join(", ")}${more})`;
}

/**
 * Recompute and store an image's manifest after pack, lite, clone or import, or before a
 * signature. The origin is kept unless a new one is given (pack changes the archives, not how
 * the tree was made). A manifest whose content did not change is left alone, signature and
 * all; one that changed loses its signature, which no longer covers it. A manifest a capture
 * left due (pending.ts) is settled here with whatever the tree is now: these commands record
 * the image as it is, as they always did.
 */
export function refreshManifest(ctx: Context, img: Image, origin?: Origin): { path: string; changed: boolean; manifest: ImageManifest } {
  const path = manifestPath(ctx.config, img);
  const pending = readPendingOrWarn(ctx, path);
  let old: StoredManifest | null = null;
  try {
    old = pending ? previousOf(pending, path) : readStoredManifest(ctx.config, img);
  } catch (e) {
    ctx.log.warn(`replacing an unreadable ${path}: ${(e as Error).message}`);
  }
  const cache = existsSync(dirname(path)) ? new FileDigestCache(`${path}.cache`) : undefined;
  const fresh = computeManifest(ctx.config, img, origin ?? pending?.origin ?? old?.manifest.origin ?? { how: "unknown" }, pending?.since, { cache });
  cache?.save();
  if (!existsSync(dirname(path))) return { path, changed: false, manifest: fresh };
  const r = store(ctx, img, path, old, fresh);
  if (pending) clearPending(path);
  return { path, ...r };
}

export interface Settled {
  /** The manifest as computed from the disk now (stored unless `editedAfter`). */
  manifest: ImageManifest;
  stored: boolean;
  since: string;
  /** The first entries changed on this management node after the capture, and how many. */
  editedAfter: { names: string[]; count: number } | null;
}

/**
 * Compute the manifest a capture left due (pending.ts) and store it — unless an entry of the
 * tree changed after the capture, or `write` is false: then nothing is stored and the caller
 * says so (`image verify` refuses, `image show` shows what it computed). null: nothing was due.
 * `cache: false` reads every file (`image verify` uses this walk as its check).
 */
export function settlePending(ctx: Context, img: Image, opts: { cache: boolean; write: boolean }): Settled | null {
  const path = manifestPath(ctx.config, img);
  const pending = readPendingOrWarn(ctx, path);
  if (!pending) return null;
  const names: string[] = [];
  let count = 0;
  const changedAfter = {
    ns: barrierNs(pending),
    found: (rel: string) => {
      if (names.length < 5) names.push(rel);
      count++;
    },
  };
  const cache = opts.cache && existsSync(dirname(path)) ? new FileDigestCache(`${path}.cache`) : undefined;
  const fresh = computeManifest(ctx.config, img, pending.origin, pending.since, { cache, changedAfter });
  cache?.save();
  const editedAfter = count === 0 ? null : { names, count };
  if (editedAfter || !opts.write) return { manifest: fresh, stored: false, since: pending.since, editedAfter };
  try {
    const r = store(ctx, img, path, previousOf(pending, path), fresh);
    clearPending(path);
    return { manifest: r.manifest, stored: true, since: pending.since, editedAfter: null };
  } catch (e) {
    // a reader without write access (image show) still gets the manifest; the next writer stores it
    if (!(e instanceof XcimgError)) throw e;
    ctx.log.warn(`the manifest of ${img.name} was computed but not stored: ${e.message}`);
    return { manifest: fresh, stored: false, since: pending.since, editedAfter: null };
  }
}
