import { createHash } from "node:crypto";
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, rmSync, statfsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Context } from "../context";
import { deleteRows, upsert } from "../db/rows";
import { DataError, fsError, InterruptedError, IOFailure, UsageError } from "../errors";
import { acquireLock, type Lock, lockImageDir } from "../fs/lock";
import { rootImgDir } from "../image/paths";
import { errorList } from "./export";
import type { ImportImage, ImportPlan } from "./import";
import { importLitefile } from "./litefile";
import { PlacementTx } from "./placement";
import { applyPostscripts } from "./postscripts";
import { sealNewTree } from "../image/tree-barrier";

/**
 * The last step of an import (see import.ts): check what would be replaced, extract the
 * vetted bundle into a staging directory under installdir, run the provmethods' unpacking
 * steps, move everything into place and write the rows in one transaction — or undo it all.
 */

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
      if (dir) locks.push(lockImageDir(installdir, dir, `xcimg import ${img.name}`));
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
          if (p.tree) sealNewTree(from, p.to); // an image tree: root:root 0700 on the MN (image/tree-barrier.ts)
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
