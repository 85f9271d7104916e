import { existsSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import { enabledRow } from "../db/rows";
import type { Image } from "../defs/image";
import { fsError, NotFoundError } from "../errors";
import { copyAtomic, fsyncDir, tempNameFor, writeFileAtomic } from "../fs/atomic";
import { lockImageDir } from "../fs/lock";
import { isDir, isSymlink } from "../fs/predicates";
import { ImageRoot } from "../image/image-root";
import { rootImgDir } from "../image/paths";
import { guardTree, nodeTop, type TreeTop, treeIsNfsRoot } from "../image/tree-barrier";
import { writeXcatinfo } from "../image/xcatinfo";
import { bootInitrd } from "../initrd/stateless";
import { syncIntoImage } from "../synclist/locate";
import { archiveTree } from "./archive-tree";
import { PathFilter, readExlists, STATELITE_EXCLUDES } from "./exlist";
import { archiveFailure } from "./failure";
import { type ImageKernel, pickKernel } from "./kernel";
import { removeDeadTemps } from "./leftovers";
import type { PackOptions } from "./options";
import { archiveName, removeReplacedImages } from "./outputs";
import { type RootPasswordResult, rootPasswordMessage, setRootPassword } from "./root-password";
import { writeSquashfs } from "./squashfs";
import { type WalkResult, walkTree } from "./walk";

export interface PackResult {
  image: string;
  method: string;
  compress: string;
  archive: string;
  /** Bytes of the archive before compression (cpio/tar) and on disk. */
  archiveBytes: number;
  packedBytes: number;
  entries: number;
  seconds: number;
  uuid: string;
  kernel: string | null;
  kernelVersion: string | null;
  initrd: string;
  removed: string[];
  /** What became of the root line of /etc/shadow (passwd table, site.secureroot). */
  rootPassword: RootPasswordResult;
}

/**
 * xCAT packimage for one image: write opt/xcat/xcatinfo, set root's password from the passwd
 * table (root-password.ts) and /etc/localtime from site.timezone, filter the tree with the exlist,
 * archive and compress it next to rootimg/, then — only once the new archive is complete and
 * synced — rename it over the old one and remove archives of other methods. Also leaves what
 * netboot needs beside it: `kernel` (newest in the image, or linuximage.kernelver) and
 * `initrd-stateless.gz` (xcimg's generic boot initrd). A failed or interrupted pack leaves the
 * previous archive untouched; a second pack of the same tree is refused (exit 75). A full disk
 * or a failing compressor is exit 74 (failure.ts); temp files of a pack that was killed are
 * removed by the next one (leftovers.ts).
 */
export async function packRootImage(ctx: Context, img: Image, opts: PackOptions): Promise<PackResult> {
  const started = performance.now();
  const dir = rootImgDir(ctx.config, img);
  const tree = join(dir, "rootimg");
  if (!isDir(tree)) {
    throw new NotFoundError(`${tree} does not exist`, { hint: `capture a node into it first: 'xcimg capture <node> -t diskless -o ${img.name}'` });
  }
  // the same lock file as lockImageDir(dir) (capture, lite, import, rm): keyed by the canonical path
  const lock = lockImageDir(ctx.config.installdir, dir, `xcimg pack ${img.name}`);
  try {
    removeDeadTemps(dir, ctx.log);
    guardTree(tree, ctx.log, { nfsRoot: treeIsNfsRoot(img) });
    ctx.log.info(`Packing contents of ${tree}`);
    ctx.log.info(`archive method:${opts.method}`);
    if (opts.method !== "squashfs") ctx.log.info(`compress method:${opts.compressName}`);
    if (opts.syncfiles !== false) await syncIntoImage(ctx, img, tree);
    const uuid = writeXcatinfo(tree, img.name);
    const rootPassword = setRootPassword(ctx, tree);
    const said = rootPasswordMessage(rootPassword);
    if (said) ctx.log.info(said);
    const timezone = siteValue(ctx, "timezone");
    const includes = timezone ? setTimezone(ctx, tree, timezone) : [];
    const rules = readExlists(img.attrs.exlist);
    if (rules.files.length) ctx.log.debug(`exlist: ${rules.files.join(", ")}`);
    const filter = new PathFilter({ excludes: [...rules.excludes, ...STATELITE_EXCLUDES], includes: [...rules.includes, ...includes] });
    const name = archiveName(opts.method, opts.compression);
    const out = join(dir, name);
    let walk: WalkResult;
    let archiveBytes = 0;
    let packedBytes = 0;
    if (opts.method === "squashfs") {
      walk = walkTree(tree, filter);
      reportOtherFilesystems(ctx, walk);
      packedBytes = await packSquashfs(tree, dir, walk, out, opts, nodeTop(tree), ctx.signal);
    } else {
      ({ walk, archiveBytes, packedBytes } = await archiveTree({ tree, out, method: opts.method, compression: opts.compression, filter, signal: ctx.signal }));
      reportOtherFilesystems(ctx, walk);
    }
    const removed = removeReplacedImages(dir, name, tree, img.attrs, ctx.log);
    const kernel = placeKernel(ctx, img, tree, dir);
    const initrd = join(dir, "initrd-stateless.gz");
    writeFileAtomic(initrd, bootInitrd());
    return {
      image: img.name,
      method: opts.method,
      compress: opts.method === "squashfs" ? opts.compression : opts.compressName,
      archive: out,
      archiveBytes,
      packedBytes,
      entries: walk.entries.length,
      seconds: (performance.now() - started) / 1000,
      uuid,
      kernel: kernel ? join(dir, "kernel") : null,
      kernelVersion: kernel?.version ?? null,
      initrd,
      removed,
      rootPassword,
    };
  } catch (e) {
    throw archiveFailure(e, `cannot pack ${tree} into ${dir}`, dir);
  } finally {
    lock.release();
  }
}

/** mksquashfs writes its own file: to a temporary name, renamed over the old one when complete. */
async function packSquashfs(tree: string, dir: string, walk: WalkResult, out: string, opts: PackOptions, top: TreeTop, signal: AbortSignal): Promise<number> {
  const temp = tempNameFor(out);
  try {
    await writeSquashfs(tree, dir, walk.entries, temp, opts.compression, top, signal);
    const size = statSync(temp).size;
    renameSync(temp, out);
    fsyncDir(dir);
    return size;
  } finally {
    rmSync(temp, { force: true });
  }
}

function reportOtherFilesystems(ctx: Context, walk: WalkResult): void {
  if (walk.otherFilesystems.length) ctx.log.warn(`not packed (other filesystems mounted in the tree): ${walk.otherFilesystems.join(" ")}`);
}

function siteValue(ctx: Context, key: string): string | undefined {
  return enabledRow(ctx.db(), "site", { key })?.value;
}

/**
 * site.timezone: /etc/localtime points at the zone, and the zone file (and the file it links
 * to) is packed even when the exlist drops /usr/share/zoneinfo (xCAT issues #4520, #7321).
 */
function setTimezone(ctx: Context, tree: string, tz: string): string[] {
  const image = new ImageRoot(tree);
  if (tz.split("/").includes("..") || !image.stat(`/usr/share/zoneinfo/${tz}`)?.isFile()) {
    ctx.log.warn(`Unable to set timezone to '${tz}', check this is a valid timezone`);
    return [];
  }
  // resolved inside the image: an /etc that is a symlink must not lead to the host's /etc
  const localtime = image.at("/etc/localtime");
  try {
    if (existsSync(localtime) || isSymlink(localtime)) unlinkSync(localtime);
    symlinkSync(`../usr/share/zoneinfo/${tz}`, localtime);
  } catch (e) {
    throw fsError(e, `cannot set ${localtime}`);
  }
  const includes = [`./usr/share/zoneinfo/${tz}`];
  // the zone file may itself be a link (Etc/UTC -> ../UTC): pack its target too
  const real = image.follow(`/usr/share/zoneinfo/${tz}`); // always inside the tree
  if (real !== join(tree, "usr/share/zoneinfo", tz)) includes.push(`.${real.slice(tree.length)}`);
  return includes;
}

/** <rootimgdir>/kernel: the image's kernel, where xCAT's genimage leaves it. */
function placeKernel(ctx: Context, img: Image, tree: string, dir: string): ImageKernel | null {
  const k = pickKernel(tree, img.attrs.kernelver);
  if (!k) {
    if (!existsSync(join(dir, "kernel")))
      ctx.log.warn(`no kernel in ${tree}/boot: nodes cannot boot this image until one is installed there (or put one at ${dir}/kernel)`);
    return null;
  }
  copyAtomic(k.path, join(dir, "kernel"));
  return k;
}
