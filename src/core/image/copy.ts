import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Context } from "../context";
import { copyImageRows, findImage, getImage, IMAGE_TYPE, type Image } from "../defs/image";
import { writeObject } from "../defs/object";
import { DataError, InterruptedError, IOFailure, UsageError } from "../errors";
import { safeImageFileName, safePathComponent, validateImageName } from "../names";
import { imageFacts } from "./method-facts";
import { rootImgDir } from "./paths";
import { disklessDir } from "./xcat-dirs";

/**
 * image copy: the copy gets its own rootimgdir, never the original's. xCAT's default layout
 * puts every image of one os/arch/profile in the same directory, so a definition-only copy
 * would pack, capture and remove into the original's tree. The tree is copied with
 * `cp -a --reflink=auto` (free on XFS/btrfs, a full copy elsewhere), or hard-linked with
 * `link` (instant, but an in-place edit of a file in either tree shows in both; xcimg's own
 * writers replace files, so they never write through a link). With `definitionOnly` the new
 * directory starts empty, for a capture into it.
 */
export interface CopyOptions {
  link?: boolean;
  definitionOnly?: boolean;
}

function copyDir(ctx: Context, from: Image, dst: string): string | null {
  const { home, tree } = imageFacts(from.attrs.provmethod);
  if (tree === null) return null; // no tree (an install image points at its media)
  const { installdir } = ctx.config;
  if (home !== "profile") return home(installdir, safeImageFileName(dst));
  const osvers = from.attrs.osvers;
  const osarch = from.attrs.osarch;
  if (!osvers || !osarch) {
    throw new DataError(`image '${from.name}' has no osvers/osarch: cannot tell where its copy's files go`, {
      hint: `set them with 'xcimg image set ${from.name} osvers=... osarch=...'`,
    });
  }
  return disklessDir(installdir, safePathComponent("osvers", osvers), safePathComponent("osarch", osarch), safeImageFileName(dst));
}

async function cpTree(src: string, dst: string, link: boolean, signal: AbortSignal): Promise<void> {
  const proc = Bun.spawn(["cp", link ? "-al" : "-a", ...(link ? [] : ["--reflink=auto"]), "-T", "--", src, dst], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const onAbort = () => proc.kill("SIGTERM");
  signal.addEventListener("abort", onAbort, { once: true });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  signal.removeEventListener("abort", onAbort);
  if (signal.aborted) throw new InterruptedError("interrupted; the copy was removed");
  if (code !== 0) throw new IOFailure(`cp ${link ? "-al" : "-a"} ${src} ${dst} failed: ${err.trim() || `exit ${code}`}`);
}

export async function copyImage(
  ctx: Context,
  src: string,
  dst: string,
  opts: CopyOptions = {},
): Promise<{ image: Image; rootimgdir: string | null; copied: boolean }> {
  const db = ctx.db();
  const from = getImage(db, src);
  validateImageName(dst);
  if (findImage(db, dst)) throw new UsageError(`image '${dst}' already exists`, { hint: `remove it first with 'xcimg image rm ${dst}'` });
  const dstDir = copyDir(ctx, from, dst);
  let srcDir: string | null = null;
  try {
    srcDir = dstDir ? rootImgDir(ctx.config, from) : null;
  } catch {
    srcDir = null;
  }
  if (dstDir && existsSync(dstDir)) {
    throw new DataError(`${dstDir} already exists: it would become the copy's rootimgdir`, {
      hint: "remove or rename that directory, or pick another image name",
    });
  }
  const temp = dstDir ? join(dirname(dstDir), `.xcimg-copy.${process.pid}.${safeImageFileName(dst)}`) : null;
  let copied = false;
  try {
    if (dstDir && temp && srcDir && existsSync(srcDir) && !opts.definitionOnly) {
      mkdirSync(dirname(dstDir), { recursive: true });
      ctx.log.info(`Copying ${srcDir} to ${dstDir}${opts.link ? " (hard links)" : ""}...`);
      await cpTree(srcDir, temp, Boolean(opts.link), ctx.signal);
      renameSync(temp, dstDir);
      copied = true;
    }
    db.write(() => {
      copyImageRows(db, src, dst);
      // a default directory of the image's own is named after the copy already
      if (dstDir && (imageFacts(from.attrs.provmethod).home === "profile" || from.attrs.rootimgdir)) writeObject(db, IMAGE_TYPE, dst, { rootimgdir: dstDir });
    });
  } catch (e) {
    if (temp) rmSync(temp, { recursive: true, force: true });
    if (copied && dstDir) rmSync(dstDir, { recursive: true, force: true });
    throw e;
  }
  return { image: getImage(db, dst), rootimgdir: dstDir, copied };
}
