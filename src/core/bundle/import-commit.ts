import { createHash } from "node:crypto";
import { closeSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Context } from "../context";
import { deleteRows, upsert } from "../db/rows";
import { DataError, InterruptedError, IOFailure, UsageError } from "../errors";
import { acquireLock, type Lock, lockImageDir } from "../fs/lock";
import { exists } from "../fs/predicates";
import { sealNewTree } from "../image/tree-barrier";
import { type BundleFile, recordBundleFiles } from "../template/provenance";
import { forgetCapture, restoreCapture } from "./capture-record";
import { freeBytes } from "./expansion";
import { errorList } from "./export";
import { checkExtraLinks, expandExtraTrees } from "./extra-trees";
import { type ImportImage, type ImportPlan, importedImageDir, type Placement } from "./import";
import { importLitefile } from "./litefile";
import { normaliseStaged } from "./modes";
import { PlacementTx } from "./placement";
import { applyPostscripts } from "./postscripts";
import { type Expected, verifyExtracted } from "./staged";
import { IMPORT_STAGING, PLACEMENT_LEFTOVER, removeStale } from "./stale";
import { normaliseMemberName, treeArea, withRefusalHint } from "./vet";

/**
 * The last step of an import (see import.ts): check what would be replaced, extract the
 * vetted bundle into a staging directory under installdir, run the provmethods' unpacking
 * steps, move everything into place and write the rows in one transaction — or undo it all.
 */

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

export interface ImportResult {
  images: { image: string; provmethod: string; files: string[] }[];
  bundle: string;
}

/** A placed symlink that already exists with the same target is left alone, like an identical file. */
function sameLink(p: string, target: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink() && readlinkSync(p, "latin1") === target;
  } catch {
    return false;
  }
}

function isRealDir(p: string): boolean | null {
  try {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return null;
    return st.isDirectory();
  } catch {
    return false;
  }
}

/** What GNU tar must extract: exactly the vetted members (see staged.ts). */
function expectedMembers(plan: ImportPlan): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const m of plan.bundle.members.values()) {
    const e = m.entry;
    // files outside a root tree are what gets placed: their content is checked too
    const placedAsIs = treeArea(m.name) !== "imagetree";
    if (e.type === "hardlink") out.set(m.name, { type: "hardlink", hardlinkTo: normaliseMemberName(e.linkname) });
    else if (e.type === "symlink") out.set(m.name, { type: "symlink", linkname: e.linkname });
    else if (e.type === "file") out.set(m.name, { type: "file", size: e.size, sha256: placedAsIs ? m.sha256 : undefined, single: placedAsIs });
    else out.set(m.name, { type: e.type });
  }
  return out;
}

export async function commitImport(ctx: Context, plan: ImportPlan): Promise<ImportResult> {
  const errors = plan.images.flatMap((i) => i.errors);
  if (errors.length) throw errorList(ctx, errors);
  const { installdir } = plan.rules;
  const force = plan.req.force;

  expandExtraTrees(plan);
  // two images of one bundle may carry the same file (an extra, a shared list): place it once
  const claimed = new Map<string, Placement>();
  for (const img of plan.images) {
    img.placements = img.placements.filter((p) => {
      const prev = claimed.get(p.to);
      if (!prev) {
        claimed.set(p.to, p);
        return true;
      }
      if (p.dir && prev.dir) return false;
      if (!p.tree && !prev.tree && !p.dir && !prev.dir && prev.linkname === p.linkname && prev.sha256 === p.sha256) return false;
      throw new DataError(`the bundle puts two different things at ${p.to}`, {
        hint: "two extras (or two images) of the bundle claim one path: nothing was imported",
      });
    });
  }
  checkExtraLinks(plan);
  // what would be replaced: identical files are left alone, others need --force
  const conflicts: string[] = [];
  for (const img of plan.images) {
    img.placements = img.placements.filter((p) => {
      if (p.dir) {
        const d = isRealDir(p.to);
        if (d === null) throw new DataError(`${p.to} is a symbolic link; xcimg does not place files through a symbolic link`, { hint: "nothing was imported" });
        if (d === false && exists(p.to))
          throw new UsageError(`${p.to} exists and is not a directory`, { hint: "the bundle's extra directory needs a directory there; nothing was imported" });
        return true;
      }
      if (!exists(p.to)) return true;
      if (p.tree) {
        conflicts.push(p.to); // a root tree is never merged: the old one becomes rootimg.ORIG
        return true;
      }
      const same = p.linkname !== undefined ? sameLink(p.to, p.linkname) : sameFile(p.to, p.sha256, p.size);
      if (same) {
        img.notes.push(`${p.to} (unchanged)`);
        return false;
      }
      conflicts.push(p.to);
      return true;
    });
  }
  if (conflicts.length && !force) {
    throw new UsageError(
      `the import would replace ${conflicts.length} existing file(s): ${conflicts.slice(0, 5).join(", ")}${conflicts.length > 5 ? ", ..." : ""}`,
      {
        hint: "rerun with --force to replace them (the old ones are kept as <file>.ORIG)",
      },
    );
  }

  const free = freeBytes(installdir);
  if (plan.bundle.dataBytes > free) {
    throw new IOFailure(`the bundle unpacks to ${plan.bundle.dataBytes} bytes but ${installdir} has only ${free} bytes free`, {
      hint: "free some space and try again",
    });
  }

  const locks: Lock[] = [];
  const stageRoot = join(installdir, ".xcimg");
  let staging = "";
  const tx = new PlacementTx([installdir, ...plan.rules.allow]);
  try {
    for (const img of plan.images) {
      locks.push(acquireLock(installdir, `image ${img.name}`, `xcimg import ${img.name}`));
      // the same subject pack and lite lock, so import never replaces a tree they are working on
      const dir = imageDirOf(ctx, img);
      if (dir) locks.push(lockImageDir(installdir, dir, `xcimg import ${img.name}`));
    }
    mkdirSync(stageRoot, { recursive: true, mode: 0o755 });
    for (const gone of removeStale(stageRoot, IMPORT_STAGING)) ctx.log.info(`Removed ${gone}, left by an import that did not finish.`);
    const dirs = new Set(plan.images.flatMap((i) => i.placements.map((p) => dirname(p.to))));
    for (const d of dirs) for (const gone of removeStale(d, PLACEMENT_LEFTOVER)) ctx.log.info(`Removed ${gone}, left by an import that did not finish.`);
    staging = join(stageRoot, `import.${process.pid}.${Date.now()}`);
    mkdirSync(staging, { mode: 0o700 });
    ctx.log.info("Unbundling image...");
    await extract(plan.bundle.path, staging, ctx.signal);
    await verifyExtracted(staging, expectedMembers(plan), plan.bundle.path);
    for (const img of plan.images) for (const step of img.afterExtract) await step(staging);
    for (const img of plan.images) if (img.facts.remembersFiles) rememberFiles(plan, img);
    if (ctx.signal.aborted) throw new InterruptedError("import interrupted; nothing was changed");
    for (const img of plan.images) normaliseStaged(staging, img.placements);

    const files = new Map<string, string[]>();
    for (const img of plan.images) {
      const placed: string[] = [];
      for (const p of img.placements) {
        ctx.log.info(p.to);
        if (p.dir) tx.ensureDir(p.to);
        else {
          const from = join(staging, p.from);
          if (p.tree) sealNewTree(from, p.to); // an image tree: root:root 0700 on the MN (image/tree-barrier.ts)
          tx.place(from, p.to);
        }
        if (!p.treeRoot || p.to === p.treeRoot) placed.push(p.to);
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
          forgetCapture(db, img.name); // it described the tree being replaced
        }
        const { imagename: _a, ...os } = m.osimage;
        const { imagename: _b, ...li } = m.linuximage;
        upsert(db, "osimage", { imagename: img.name }, os);
        upsert(db, "linuximage", { imagename: img.name }, li);
        if (img.capture) restoreCapture(db, img.name, importedImageDir(ctx, img), img.capture);
        if (img.facts.litefile) {
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
    throw withRefusalHint(e);
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
    for (const l of locks) l.release();
  }
}

/**
 * Remember every file this bundle brings, by content, so its template and whatever it
 * includes are never taken for the site's own (core/template/provenance.ts). Recorded once
 * the bundle is vetted and extracted, i.e. only for an import that goes ahead.
 */
function rememberFiles(plan: ImportPlan, img: ImportImage): void {
  const files: BundleFile[] = [];
  for (const p of img.placements) if (!p.tree && p.sha256) files.push({ sha256: p.sha256, image: img.name, path: p.to });
  for (const p of img.placements.filter((x) => x.tree)) {
    const prefix = `${p.from.replace(/\/+$/, "")}/`;
    for (const member of plan.bundle.members.values()) {
      if (member.name.startsWith(prefix) && member.sha256)
        files.push({ sha256: member.sha256, image: img.name, path: join(p.to, member.name.slice(prefix.length)) });
    }
  }
  recordBundleFiles(plan.rules.installdir, files);
}

function imageDirOf(ctx: Context, img: ImportImage): string | null {
  if (!img.facts.hasImageDir) return null;
  let dir: string;
  try {
    dir = importedImageDir(ctx, img);
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
