import { createHash } from "node:crypto";
import { accessSync, closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, rmSync, statfsSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import type { Context } from "../context";
import { deleteRows, upsert } from "../db/rows";
import { findImage } from "../defs/image";
import { DataError, fsError, InterruptedError, IOFailure, NotFoundError, UsageError } from "../errors";
import { acquireLock, type Lock } from "../fs/lock";
import { rootImgDir } from "../image/paths";
import { validateImageName, validatePathComponent } from "../names";
import type { ProvMethodName } from "../provmethod-names";
import { errorList } from "./export";
import { checkDestination, type DestinationRules, mapPath, rebaseManifest, renameProfile, sourceInstalldir } from "./destinations";
import { importLitefile, type LiteRow, parseLitefileCsv } from "./litefile";
import { fileRefs, type Manifest, parseManifestXml, sourceOf, verifyCommon } from "./manifest";
import { parseManifestCfg } from "./manifest-cfg";
import { PlacementTx } from "./placement";
import { applyPostscripts, postscriptTargets } from "./postscripts";
import { printableName } from "./tar";
import { type Member, type VettedBundle, vetBundle } from "./vet";

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

export function stagedMember(plan: ImportPlan, img: ImportImage, rel: string): Member | undefined {
  return plan.bundle.members.get(memberPath(img, rel));
}

export async function planImport(ctx: Context, req: ImportRequest): Promise<ImportPlan> {
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
  const bundle = await vetBundle(bundlePath, ctx.signal);
  const allow = req.allowDest.map((d) => {
    if (!d.startsWith("/")) throw new UsageError(`--allow-dest needs an absolute directory, not '${d}'`);
    return posix.normalize(d).replace(/(.)\/$/, "$1");
  });
  const plan: ImportPlan = { req, bundle, images: [], rules: { installdir, from: "/install", allow }, nodes: [] };
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

// ---- commit ---------------------------------------------------------------------------

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether the existing file at `p` already holds exactly the staged content (streamed: root images are large). */
function sameFile(p: string, sha: string | undefined, size: number | undefined): boolean {
  if (!sha) return false;
  let fd: number | null = null;
  try {
    const st = lstatSync(p);
    if (!st.isFile() || (size !== undefined && st.size !== size)) return false;
    fd = openSync(p, "r");
    const h = createHash("sha256");
    const buf = Buffer.alloc(4 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    return h.digest("hex") === sha;
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Files of an extra directory, relative, for merging into its destination. */
function walk(dir: string, rel = ""): { rel: string; dir: boolean }[] {
  const out: { rel: string; dir: boolean }[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const isDir = e.isDirectory();
    out.push({ rel: r, dir: isDir });
    if (isDir) out.push(...walk(dir, r));
  }
  return out;
}

export interface ImportResult {
  images: { image: string; provmethod: string; files: string[] }[];
  bundle: string;
}

export async function commitImport(ctx: Context, plan: ImportPlan): Promise<ImportResult> {
  const errors = plan.images.flatMap((i) => i.errors);
  if (errors.length) throw errorList(ctx, errors);
  const { installdir } = plan.rules;
  const force = plan.req.force;

  // two images of one bundle may carry the same file (an extra, a shared list): place it once
  const claimed = new Map<string, string | undefined>();
  for (const img of plan.images) {
    img.placements = img.placements.filter((p) => {
      if (!claimed.has(p.to)) {
        claimed.set(p.to, p.tree ? undefined : p.sha256);
        return true;
      }
      if (!p.tree && claimed.get(p.to) === p.sha256) return false;
      if (p.tree && p.what === "extra") return true; // extra directories merge into their destination
      throw new DataError(`the bundle puts two different files at ${p.to}`);
    });
  }
  // what would be replaced: identical files are left alone, others need --force
  const conflicts: string[] = [];
  for (const img of plan.images) {
    img.placements = img.placements.filter((p) => {
      if (p.tree || !exists(p.to)) return true;
      if (sameFile(p.to, p.sha256, p.size)) {
        img.notes.push(`${p.to} (unchanged)`);
        return false;
      }
      return true;
    });
    for (const p of img.placements) if (!p.tree && exists(p.to)) conflicts.push(p.to);
    for (const p of img.placements) if (p.tree && p.what !== "extra" && exists(p.to)) conflicts.push(p.to);
  }
  if (conflicts.length && !force) {
    throw new UsageError(
      `the import would replace ${conflicts.length} existing file(s): ${conflicts.slice(0, 5).join(", ")}${conflicts.length > 5 ? ", ..." : ""}`,
      {
        hint: "rerun with --force to replace them (the old ones are kept as <file>.ORIG)",
      },
    );
  }

  try {
    const st = statfsSync(installdir);
    const free = Number(st.bavail) * Number(st.bsize);
    if (plan.bundle.dataBytes > free) {
      throw new IOFailure(`the bundle unpacks to ${plan.bundle.dataBytes} bytes but ${installdir} has only ${free} bytes free`, {
        hint: "free some space and try again",
      });
    }
  } catch (e) {
    if (e instanceof IOFailure) throw e;
    throw fsError(e, `cannot use installdir ${installdir}`);
  }

  const locks: Lock[] = [];
  const stageRoot = join(installdir, ".xcimg");
  let staging = "";
  const tx = new PlacementTx();
  try {
    for (const img of plan.images) {
      locks.push(acquireLock(installdir, `image ${img.name}`, `xcimg import ${img.name}`));
      // the same subject pack and lite lock, so import never replaces a tree they are working on
      const dir = imageDirOf(ctx, img);
      if (dir) locks.push(acquireLock(installdir, `image directory ${dir}`, `xcimg import ${img.name}`));
    }
    mkdirSync(stageRoot, { recursive: true, mode: 0o755 });
    staging = join(stageRoot, `import.${process.pid}.${Date.now()}`);
    mkdirSync(staging, { mode: 0o700 });
    ctx.log.info("Unbundling image...");
    await extract(plan.bundle.path, staging, ctx.signal);
    for (const img of plan.images) for (const step of img.afterExtract) await step(staging);
    if (ctx.signal.aborted) throw new InterruptedError("import interrupted; nothing was changed");

    const files = new Map<string, string[]>();
    for (const img of plan.images) {
      const placed: string[] = [];
      for (const p of img.placements) {
        const from = join(staging, p.from);
        if (p.what === "extra" && p.tree) {
          ctx.log.info(p.to);
          tx.ensureDir(p.to);
          for (const f of walk(from)) {
            if (f.dir) tx.ensureDir(join(p.to, f.rel));
            else tx.place(join(from, f.rel), join(p.to, f.rel));
          }
        } else {
          ctx.log.info(p.to);
          tx.place(from, p.to);
        }
        placed.push(p.to);
      }
      files.set(img.name, placed);
    }
    for (const line of tx.log) ctx.log.info(line);
    for (const img of plan.images) for (const note of img.notes) ctx.log.info(note);
    if (ctx.signal.aborted) throw new InterruptedError("import interrupted; nothing was changed");

    const db = ctx.db();
    db.write(() => {
      for (const img of plan.images) {
        const m = img.manifest;
        if (img.exists) {
          deleteRows(db, "osimage", { imagename: img.name });
          deleteRows(db, "linuximage", { imagename: img.name });
          deleteRows(db, "litefile", { image: img.name });
        }
        const { imagename: _a, ...os } = m.osimage;
        const { imagename: _b, ...li } = m.linuximage;
        upsert(db, "osimage", { imagename: img.name }, os);
        upsert(db, "linuximage", { imagename: img.name }, li);
        if (img.provmethod === "statelite") {
          ctx.log.info("Updating the litefile table.");
          importLitefile(db, img.name, img.litefile);
          ctx.log.info("The litetree and statelite tables are untouched. You can update them if needed.");
        }
        if (plan.nodes.length) {
          ctx.log.info("Adding postscripts.");
          applyPostscripts(db, plan.nodes, m.top.postscripts, m.top.postbootscripts);
        }
      }
    });
    tx.commit();
    return { bundle: plan.bundle.path, images: plan.images.map((i) => ({ image: i.name, provmethod: i.provmethod, files: files.get(i.name) ?? [] })) };
  } catch (e) {
    tx.rollback();
    throw e;
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
    for (const l of locks) l.release();
  }
}

function imageDirOf(ctx: Context, img: ImportImage): string | null {
  if (img.provmethod === "install") return null;
  let dir: string;
  try {
    dir = img.manifest.linuximage.rootimgdir ?? rootImgDir(ctx.config, { name: img.name, attrs: img.manifest.osimage });
  } catch {
    return null;
  }
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

/** The second pass: GNU tar extracts the vetted bundle into the staging directory. */
async function extract(bundle: string, dir: string, signal: AbortSignal): Promise<void> {
  const pigz = Bun.which("pigz");
  const args = [
    "tar",
    "-x",
    "-f",
    bundle,
    "-C",
    dir,
    "--xattrs",
    "--xattrs-include=*",
    "--acls",
    "--numeric-owner",
    "--same-owner",
    "-p",
    "--no-overwrite-dir",
  ];
  if (pigz) args.push(`--use-compress-program=${pigz}`);
  else args.push("-z");
  const proc = Bun.spawn(args, { stdout: "ignore", stderr: "pipe" });
  const kill = () => proc.kill();
  signal.addEventListener("abort", kill, { once: true });
  try {
    const code = await proc.exited;
    if (signal.aborted) throw new InterruptedError("import interrupted; nothing was changed");
    if (code !== 0) throw new IOFailure(`Failed to extract bundle ${bundle}: ${(await new Response(proc.stderr).text()).trim()}`);
  } finally {
    signal.removeEventListener("abort", kill);
  }
}
