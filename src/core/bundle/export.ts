import { mkdirSync, mkdtempSync, readdirSync, rmSync, type Stats, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Context } from "../context";
import { getRow } from "../db/rows";
import type { Image } from "../defs/image";
import { DataError, NotFoundError, XcimgError } from "../errors";
import { isFile } from "../fs/predicates";
import { isInside } from "../image/paths";
import { nodeTop } from "../image/tree-barrier";
import { validateImageName } from "../names";
import { bundleSigningHook } from "../provenance/bundle-sign";
import { allMethodFacts } from "../provmethod/facts";
import { lookForFile, XCAT_SHARE } from "./find-files";
import { emptyManifest, LIST_KEYS, type Manifest, manifestXml } from "./manifest";
import { bundleFacts } from "./method";
import { exportPostscripts } from "./postscripts";
import { EXPORT_STAGING, EXPORT_TMP, removeStale } from "./stale";
import { type TarPart, type WriteResult, writeBundle } from "./write";

/**
 * imgexport (xcat.md §1.2–1.4): what every provmethod's export shares. The provmethod adds
 * its own files (kernel, packed image, trees) through the job, in its bundle hook's
 * `collect` (core/bundle/method.ts); this module adds the lists,
 * `-p` postscripts and `-e` extras, writes manifest.xml and streams the bundle.
 */
export interface ExportRequest {
  bundle?: string;
  postscripts?: string;
  extra?: string[];
  /** Sign the bundle (docs/provenance.md); `key` as for `xcimg image sign --key`. */
  sign?: boolean;
  key?: string;
}

/** What a provmethod's `collect` (core/bundle/method.ts) sees of the export. */
export interface ExportJob {
  readonly ctx: Context;
  readonly image: Image;
  /** The image's directory inside the bundle (the name with whitespace as `_`, as xCAT). */
  readonly imageDir: string;
  /** The method fills in its own keys (kernel, ramdisk, rootimg, imagetree, ...). */
  readonly manifest: Manifest;
  /** A file made for the bundle (rootimgtree.gz, litefile.csv): returns where to write it. */
  generated(name: string): string;
}

/** What a provmethod's export carries beyond what every bundle carries; the export checks and writes it. */
export interface MethodExport {
  /** Problems in xCAT's words; all are reported, then the export stops. */
  errors: string[];
  /** Files carried as `<img>/<basename>`. */
  files?: string[];
  /** Directory trees carried as `<img>/<as>/`; `rootfs`: a root filesystem (its top is the node's /). */
  trees?: { dir: string; as: string; rootfs: boolean }[];
}

/** xCAT's checks of the definition (xcat.md §1.2 step 3), all reported together. */
export function checkExportable(ctx: Context, name: string): string[] {
  validateImageName(name);
  const os = getRow(ctx.db(), "osimage", { imagename: name });
  if (!os) throw new NotFoundError(`Cannot find image '${name}' from the osimage table.`, { hint: "list images with 'xcimg image list'" });
  const errs: string[] = [];
  for (const f of ["provmethod", "profile", "osvers", "osarch"]) if (!os[f]) errs.push(`The '${f}' field is not set for '${name}' in the osimage table.`);
  const pm = os.provmethod;
  const methods = allMethodFacts().map((f) => f.name);
  if (pm && !(methods as string[]).includes(pm)) {
    errs.push(`Exporting images with 'provemethod' ${pm} is not supported. Hint: ${methods.slice(0, -1).join(", ")}, or ${methods.at(-1)}`);
  }
  if (!getRow(ctx.db(), "linuximage", { imagename: name })) errs.push(`Cannot find image '${name}' from the linuximage table.`);
  return errs;
}

/** Where the bundle goes: the destination as given (xCAT keeps only its basename), default ./<image>.tgz. */
export function bundlePath(image: string, dest: string | undefined, cwd: string): string {
  if (!dest) return resolve(cwd, `${image}.tgz`);
  const p = resolve(cwd, dest);
  let isDir = dest.endsWith("/");
  try {
    isDir ||= statSync(p).isDirectory();
  } catch {
    // a new file
  }
  return isDir ? join(p, `${image}.tgz`) : p;
}

function escapeReplacement(s: string): string {
  return s.replace(/[\\&|]/g, (c) => `\\${c}`);
}

export type ExportResult = { bundle: string; image: string } & WriteResult;

/** Write `image` as a bundle; its provmethod's bundle hooks (core/bundle/method.ts) add the method's files. */
export async function exportImage(ctx: Context, image: Image, req: ExportRequest): Promise<ExportResult> {
  const hooks = await bundleFacts(image.attrs.provmethod, `image '${image.name}'`).hooks();
  const db = ctx.db();
  const name = image.name;
  const imageDir = name.replace(/\s+/g, "_");
  const dest = bundlePath(name, req.bundle, process.cwd());
  const installdir = ctx.config.installdir;
  if (isInside(resolve(dest), resolve(installdir, ".xcimg"))) throw new DataError(`refusing to write a bundle into ${installdir}/.xcimg`);
  ctx.log.info(`Exporting ${name} to ${dest}...`);
  // what an export killed before its cleanup (kill -9) left next to its bundle
  for (const re of [EXPORT_STAGING, EXPORT_TMP])
    for (const gone of removeStale(dirname(dest), re)) ctx.log.info(`Removed ${gone}, left by an export that did not finish.`);

  const m = emptyManifest();
  const { imagename: _a, ...os } = getRow(db, "osimage", { imagename: name }) ?? {};
  const { imagename: _b, ...li } = getRow(db, "linuximage", { imagename: name }) ?? {};
  m.osimage = { imagename: name, ...os };
  m.linuximage = { imagename: name, ...li };

  const errors: string[] = [];
  const flat = new Map<string, string>(); // member basename -> source path
  const trees: TarPart[] = [];
  let staging: string | null = null;
  const stagingDir = () => {
    staging ??= mkdtempSync(join(dirname(dest), `.xcimg-export.${process.pid}.`));
    mkdirSync(join(staging, imageDir), { recursive: true, mode: 0o755 });
    return staging;
  };
  const generated = new Set<string>();
  const addFile = (path: string, as?: string) => {
    const n = as ?? basename(path);
    const prev = flat.get(n);
    if (prev !== undefined && prev !== path) errors.push(`Both ${prev} and ${path} would be carried as ${imageDir}/${n}; rename one of them.`);
    flat.set(n, path);
  };
  const addTree = (dir: string, as: string, rootfs: boolean) => {
    // a root filesystem's top is the MN's 0700 barrier: the bundle carries the node's / (image/tree-barrier.ts)
    trees.push({
      cwd: dir,
      names: ["."],
      recursion: true,
      transform: `s|^\\.|./${escapeReplacement(`${imageDir}/${as}`)}|`,
      tree: rootfs,
      top: rootfs ? nodeTop(dir) : undefined,
    });
  };
  const job: ExportJob = {
    ctx,
    image,
    imageDir,
    manifest: m,
    generated(n) {
      generated.add(n);
      return join(stagingDir(), imageDir, n);
    },
  };

  try {
    if (m.osimage.kitcomponents) ctx.log.warn(`kit components (${m.osimage.kitcomponents}) are not carried: xcimg has no kit tables`);
    const carried = await hooks.collect(job);
    errors.push(...carried.errors);
    for (const f of carried.files ?? []) {
      if (isFile(f)) addFile(f);
      else errors.push(`Couldn't find file ${f} for ${name}.`);
    }
    for (const t of carried.trees ?? []) {
      if (!/^[A-Za-z0-9_.-]+$/.test(t.as) || t.as === "extra" || t.as.startsWith("."))
        throw new Error(`internal: ${image.attrs.provmethod} carries a tree as '${t.as}'`);
      addTree(t.dir, t.as, t.rootfs);
    }
    // the lists every provmethod carries (make_bundle copies template..exlist and synclists)
    for (const [table, col] of LIST_KEYS) {
      for (const fn of (m[table][col] ?? "").split(",").filter((s) => s)) {
        if (isFile(fn)) addFile(fn);
        else errors.push(`Couldn't find file ${fn} for ${name}.`);
      }
    }
    const extras = (req.extra ?? []).map((e) => extraSpec(e, errors)).filter((e) => e !== null);
    if (extras.length) {
      m.extra = extras.map((e) => ({ src: e.src, dest: e.dest }));
      for (const e of extras) {
        if (e.dir) {
          const rel = e.src.replace(/^\/+/, "").replace(/\/+$/, "");
          trees.push({ cwd: e.src, names: ["."], recursion: true, transform: `s|^\\.|./${escapeReplacement(`${imageDir}/extra/${rel}`)}|` });
          let parent = dirname(rel);
          while (parent !== "." && parent !== "/") {
            mkdirSync(join(stagingDir(), imageDir, "extra", parent), { recursive: true, mode: 0o755 });
            parent = dirname(parent);
          }
        } else addFile(e.src, `extra/${basename(e.src)}`);
      }
      mkdirSync(join(stagingDir(), imageDir, "extra"), { recursive: true, mode: 0o755 });
    }
    if (req.postscripts) {
      try {
        const ps = exportPostscripts(db, req.postscripts, ctx.env);
        if (ps.postscripts) m.top.postscripts = ps.postscripts;
        if (ps.postbootscripts) m.top.postbootscripts = ps.postbootscripts;
      } catch (e) {
        if (!(e instanceof XcimgError)) throw e;
        errors.push(e.message);
      }
    }
    if (errors.length) throw errorList(ctx, errors);

    writeFileSync(join(stagingDir(), imageDir, "manifest.xml"), manifestXml(m), { mode: 0o644 });
    for (const [n, src] of flat) ctx.log.info(src === n ? n : src);

    // member order as `tar czf <bundle> .` would make it: ./, ./<img>/, generated files, then the rest
    const stage = stagingDir();
    const stagedNames = [".", `./${imageDir}`, `./${imageDir}/manifest.xml`, ...[...generated].map((n) => `./${imageDir}/${n}`)];
    if (extras.length) stagedNames.push(...stagedDirs(stage, `${imageDir}/extra`));
    const parts: TarPart[] = [{ cwd: stage, names: stagedNames, recursion: false }];
    const byDir = new Map<string, string[]>();
    for (const [n, src] of flat) {
      const d = dirname(src);
      const list = byDir.get(`${d}\0${dirname(n)}`) ?? [];
      list.push(basename(src) === basename(n) ? basename(src) : `${basename(src)}\0${basename(n)}`);
      byDir.set(`${d}\0${dirname(n)}`, list);
    }
    for (const [key, names] of byDir) {
      const [d, sub] = key.split("\0") as [string, string];
      const target = sub === "." ? imageDir : `${imageDir}/${sub}`;
      // files whose bundle name differs from their own name get a part each
      const plain = names.filter((n) => !n.includes("\0"));
      if (plain.length) parts.push({ cwd: d, names: plain, recursion: false, transform: `s|^|./${escapeReplacement(target)}/|` });
      for (const n of names.filter((x) => x.includes("\0"))) {
        const [own, as] = n.split("\0") as [string, string];
        parts.push({ cwd: d, names: [own], recursion: false, transform: `s|^.*$|./${escapeReplacement(`${target}/${as}`)}|` });
      }
    }
    for (const t of trees) {
      if (isInside(dest, resolve(t.cwd)))
        throw new DataError(`the bundle ${dest} would be inside ${t.cwd}, which it carries`, { hint: "write it somewhere else" });
    }
    parts.push(...trees);
    // the key is opened before the long write, so a wrong key or a locked agent fails fast
    const finish = req.sign ? await bundleSigningHook(ctx, image, imageDir, req.key) : undefined;
    ctx.log.info(`Compressing ${name} bundle.  Please be patient.`);
    const started = performance.now();
    const result = await writeBundle(dest, parts, {
      imageDir,
      signal: ctx.signal,
      finish,
      progress: (b) => ctx.log.progress(`${(b / 1e6).toFixed(0)} MB read, ${(b / 1e6 / ((performance.now() - started) / 1000)).toFixed(0)} MB/s`),
    });
    ctx.log.progressDone();
    return { bundle: result.path, image: name, ...result };
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

/** All directories below `rel` inside the staging dir, parents first, as ./ names. */
function stagedDirs(stage: string, rel: string): string[] {
  const out: string[] = [];
  const walk = (r: string) => {
    out.push(`./${r}`);
    for (const e of readdirSync(join(stage, r), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${r}/${e.name}`);
    }
  };
  walk(rel);
  return out;
}

function extraSpec(spec: string, errors: string[]): { src: string; dest: string; dir: boolean } | null {
  // xCAT splits on ':' and keeps the first two fields
  const [given = "", destGiven] = spec.split(":");
  const src = resolve(given);
  let st: Stats;
  try {
    st = statSync(src);
  } catch {
    errors.push(`Can not find Extra file ${given}.`);
    return null;
  }
  const dir = st.isDirectory();
  return { src: src.replace(/\/+$/, "") || "/", dest: destGiven || (dir ? src : dirname(src)), dir };
}

/** Report every problem as its own `Error:` line, as xCAT does; the last one is thrown. */
export function errorList(ctx: Context, errors: string[]): DataError {
  for (const e of errors.slice(0, -1)) ctx.log.error(e);
  return new DataError(errors.at(-1) as string);
}

/**
 * Where xCAT's imgexport looks for the image's lists: the site's custom dir, then what xCAT
 * ships under /opt/xcat/share/xcat, in the directory its provmethod's facts name (bundle.lists).
 */
export function customDirs(job: ExportJob): string[] {
  const kind = bundleFacts(job.image.attrs.provmethod).lists;
  return [join(job.ctx.config.installdir, "custom", kind), join(XCAT_SHARE, kind)];
}

/** Find the pkglist as xCAT does (netboot, statelite); unlike xCAT, a missing one is only a warning. */
export function findPkglist(job: ExportJob): void {
  const m = job.manifest;
  if (m.linuximage.pkglist) return;
  const found = lookForFile("pkglist", lookup(m), customDirs(job), (s) => job.ctx.log.debug(s));
  if (found) m.linuximage.pkglist = found;
  else job.ctx.log.warn(`Couldn't find pkglist file for ${job.image.name} (not needed to boot the bundle; xCAT's genimage would need one)`);
}

export function lookup(m: Manifest): { profile: string; osarch: string; osvers: string } {
  return { profile: m.osimage.profile ?? "", osarch: m.osimage.osarch ?? "", osvers: m.osimage.osvers ?? "" };
}
