import { accessSync, constants, lstatSync } from "node:fs";
import { posix, resolve } from "node:path";
import type { Context } from "../context";
import { findImage } from "../defs/image";
import { DataError, NotFoundError, UsageError } from "../errors";
import { validateImageName, validatePathComponent } from "../names";
import { type BundleProvenance, checkBundleProvenance } from "../provenance/bundle-verify";
import type { ProvMethodName } from "../provmethod/names";
import { checkDestination, type DestinationRules, mapPath, rebaseManifest, renameProfile, sourceInstalldir } from "./destinations";
import { freeBytes } from "./expansion";
import { errorList } from "./export";
import { type LiteRow, parseLitefileCsv } from "./litefile";
import { fileRefs, type Manifest, parseManifestXml, sourceOf, verifyCommon } from "./manifest";
import { parseManifestCfg } from "./manifest-cfg";
import { postscriptTargets } from "./postscripts";
import { printableName } from "./tar";
import { type VettedBundle, vetBundle, withRefusalHint } from "./vet";

/**
 * imgimport (xcat.md §1.5), made safe and atomic. Three steps, so each provmethod can add its
 * part in between (the command dispatches on the bundle's provmethod):
 *   planImport   read and vet the whole bundle, parse and check the manifests, map every
 *                destination — nothing is written;
 *   <provmethod>.import   method checks (xCAT's messages) and method files (trees, rows);
 *   commitImport extract into a staging directory under installdir, move everything into
 *                place and write the rows in one transaction, or undo it all.
 */
export interface ImportRequest {
  bundle: string;
  postscripts?: string;
  profile?: string;
  force: boolean;
  allowDest: string[];
}

/** One file or tree to move from staging to its place. */
export interface Placement {
  /** Path inside the staging directory. */
  from: string;
  to: string;
  what: string;
  tree?: boolean;
  /** SHA-256 and size of a staged file (from the vetting pass), to skip identical existing files. */
  sha256?: string;
  size?: number;
  /** One directory of an extra directory's tree: made (0755 root:root) if missing, never replaced. */
  dir?: boolean;
  /** One symlink of an extra directory's tree, and its target. */
  linkname?: string;
  /** For the entries of an extra directory: where that directory lands (its links must stay inside). */
  treeRoot?: string;
}

export interface ImportImage {
  /** The image's directory in the bundle ("" for a flat manifest.cfg bundle). */
  dir: string;
  kind: "xml" | "cfg";
  manifest: Manifest;
  name: string;
  provmethod: ProvMethodName;
  placements: Placement[];
  litefile: LiteRow[];
  /** Steps that need the extracted files (e.g. unpacking a statelite tree); run before placing. */
  afterExtract: ((staging: string) => Promise<void>)[];
  /** The provmethod's problems in xCAT's words. */
  errors: string[];
  /** Lines to print once the image is in place. */
  notes: string[];
  exists: boolean;
}

export interface ImportPlan {
  req: ImportRequest;
  bundle: VettedBundle;
  images: ImportImage[];
  rules: DestinationRules;
  nodes: string[];
  /** Signature and statement checks per image directory (core/provenance/bundle-verify.ts). */
  provenance: BundleProvenance[];
}

/** What a provmethod's `import` operation receives. */
export interface ImageImportRequest {
  plan: ImportPlan;
  image: ImportImage;
}

export function asImageImport(req: Record<string, unknown>): ImageImportRequest {
  if (!req.plan || !req.image) throw new Error("internal: import operation called without a plan");
  return req as unknown as ImageImportRequest;
}

function memberPath(img: { dir: string }, rel: string): string {
  return img.dir ? `${img.dir}/${rel}` : rel;
}

export async function planImport(ctx: Context, req: ImportRequest): Promise<ImportPlan> {
  try {
    return await readAndPlan(ctx, req);
  } catch (e) {
    throw withRefusalHint(e);
  }
}

async function readAndPlan(ctx: Context, req: ImportRequest): Promise<ImportPlan> {
  const installdir = resolve(ctx.config.installdir);
  let bundlePath = resolve(req.bundle);
  try {
    accessSync(bundlePath, constants.R_OK);
  } catch {
    throw new NotFoundError(`Cannot find ${req.bundle}`, { hint: "give the path of a .tgz made by 'xcimg export' or xCAT's imgexport" });
  }
  if (lstatSync(bundlePath).isDirectory()) throw new UsageError(`${req.bundle} is a directory, not a bundle`);
  bundlePath = resolve(bundlePath);
  ctx.log.info(`Checking ${bundlePath}...`);
  let provenance: BundleProvenance[] = [];
  const bundle = await vetBundle(bundlePath, ctx.signal, { free: freeBytes(installdir), where: installdir }, (b) => {
    provenance = checkBundleProvenance(ctx, b);
  });
  const allow = req.allowDest.map((d) => {
    if (!d.startsWith("/")) throw new UsageError(`--allow-dest needs an absolute directory, not '${d}'`);
    return posix.normalize(d).replace(/(.)\/$/, "$1");
  });
  const plan: ImportPlan = { req, bundle, images: [], rules: { installdir, from: "/install", allow }, nodes: [], provenance };
  const db = ctx.db();
  for (const dir of bundle.images) {
    const file = dir.dir ? `${dir.dir}/manifest.${dir.kind}` : "manifest.cfg";
    let m: Manifest;
    let extrasFlat = false;
    if (dir.kind === "xml") {
      const parsed = parseManifestXml(dir.manifest, file);
      m = parsed.manifest;
      if (parsed.ignored.length) ctx.log.debug(`${file}: ignoring ${parsed.ignored.join(", ")}`);
    } else {
      const text = dir.manifest.toString("utf8");
      m = parseManifestCfg(text, file, installdir).manifest;
      extrasFlat = true;
    }
    const kits = [...Object.keys(m.kit), ...Object.keys(m.kitcomp)];
    if (kits.length) ctx.log.warn(`the bundle's kits are not installed (${kits.join(", ")}): xcimg has no kit tables; osimage.kitcomponents is kept`);
    const errs = verifyCommon(m);
    if (errs.length) throw errorList(ctx, errs);
    const rules: DestinationRules = { installdir, from: dir.kind === "cfg" ? installdir : sourceInstalldir(m), allow };
    plan.rules = rules;
    rebaseManifest(m, rules);
    if (req.profile) {
      validatePathComponent("profile", req.profile);
      renameProfile(m, req.profile, installdir);
    }
    const name = validateImageName(m.osimage.imagename as string);
    validatePathComponent("osvers", m.osimage.osvers as string);
    validatePathComponent("profile", m.osimage.profile as string);
    const img: ImportImage = {
      dir: dir.dir,
      kind: dir.kind,
      manifest: m,
      name,
      provmethod: m.osimage.provmethod as ProvMethodName,
      placements: [],
      litefile: [],
      afterExtract: [],
      errors: [],
      notes: [],
      exists: findImage(db, name) !== null,
    };
    if (plan.images.some((o) => o.name === name)) throw new DataError(`the bundle holds image '${name}' twice`);
    if (img.exists && !req.force) {
      throw new UsageError(`image '${name}' already exists`, {
        hint: "rerun with --force to replace it (its files are kept as .ORIG), or import under another profile with -f",
      });
    }
    commonPlacements(plan, img, extrasFlat);
    if (dir.litefile && img.provmethod === "statelite") img.litefile = parseLitefileCsv(dir.litefile.toString("utf8"), `${dir.dir}/litefile.csv`);
    plan.images.push(img);
  }
  if (req.postscripts) {
    const t = postscriptTargets(db, req.postscripts, ctx.env);
    plan.nodes = t.nodes;
    if (t.missing.length) ctx.log.warn(`The following nodes will be skipped because they are not in the nodelist table.\n  ${t.missing.join(",")}`);
  }
  return plan;
}

/** kernel/ramdisk/rootimg/litefile, the lists, and the extras: what xCAT's make_files places for every provmethod. */
function commonPlacements(plan: ImportPlan, img: ImportImage, extrasFlat: boolean): void {
  const m = img.manifest;
  const members = plan.bundle.members;
  const seen = new Map<string, string>();
  for (const ref of fileRefs(m)) {
    if (ref.key === "rootimgtree") continue; // unpacked by the statelite import, never placed as a file
    const to = ref.path;
    checkDestination(to, plan.rules, ref.key);
    const rel = sourceOf(m, ref);
    if (rel.includes("/") || rel === "" || rel === "." || rel === "..") throw new DataError(`manifest: bad file name '${rel}' for ${ref.key}`);
    const member = members.get(memberPath(img, rel));
    if (member?.entry.type !== "file") {
      throw new DataError(`the bundle has no file ${printableName(memberPath(img, rel))} for ${ref.key} ${ref.path}`, { hint: "the bundle is incomplete" });
    }
    const prev = seen.get(to);
    if (prev !== undefined && prev !== member.name) throw new DataError(`manifest: ${to} is named for two different files`);
    if (prev !== undefined) continue;
    seen.set(to, member.name);
    img.placements.push({ from: member.name, to, what: ref.key, sha256: member.sha256, size: member.entry.size });
  }
  for (const e of m.extra) {
    if (extrasFlat) {
      const member = members.get(memberPath(img, e.src));
      if (member?.entry.type !== "file" || e.src.includes("/")) throw new DataError(`the bundle has no extra file '${e.src}'`);
      const to = posix.join(mapPath(e.dest, plan.rules, "extra dest"), e.src);
      checkDestination(to, plan.rules, "an extra file");
      img.placements.push({ from: member.name, to, what: "extra", sha256: member.sha256 });
      continue;
    }
    const src = posix.normalize(e.src);
    const asDir = members.get(memberPath(img, `extra/${src.replace(/^\/+/, "").replace(/\/+$/, "")}`));
    if (asDir?.entry.type === "dir" && src.replace(/^\/+/, "") !== "") {
      checkDestination(posix.join(e.dest, "x"), plan.rules, "an extra directory");
      img.placements.push({ from: asDir.name, to: e.dest, what: "extra", tree: true });
    } else {
      const base = posix.basename(src);
      const member = members.get(memberPath(img, `extra/${base}`));
      if (member?.entry.type !== "file") throw new DataError(`the bundle has no extra file extra/${base} for ${e.src}`);
      const to = posix.join(e.dest, base);
      checkDestination(to, plan.rules, "an extra file");
      img.placements.push({ from: member.name, to, what: "extra", sha256: member.sha256 });
    }
  }
}
