import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { DataError, InterruptedError, NotFoundError } from "../../core/errors";
import { writeFileAtomic } from "../../core/fs/atomic";
import { lockImageDir } from "../../core/fs/lock";
import { ImageRoot, lstatOrNull } from "../../core/image/image-root";
import { rootImgDir } from "../../core/image/paths";
import { guardTree, treeIsNfsRoot } from "../../core/image/tree-barrier";
import { writeXcatinfo } from "../../core/image/xcatinfo";
import { removeDeadTemps } from "../../core/pack/leftovers";
import { rootPasswordMessage, setRootPassword } from "../../core/pack/root-password";
import { syncIntoImage } from "../../core/synclist/locate";
import { rewriteOption } from "../../core/tables/litefile-options";
import { copyA, mkdirp, rmrf } from "./fsops";
import { buildHierarchy, processingOrder } from "./hierarchy";
import { type LiteCtx, liteItem } from "./lite-item";
import { ilitefileLine, imageLiteEntries, type LiteEntry, parseSavedList } from "./litefile";
import { packStateliteRamdisk } from "./ramdisk";
import { RC_STATELITE } from "./rc-statelite";
import { recoverChanged } from "./recover";
import { validateEntries, validateHierarchy } from "./validate";

export const PROVMETHOD_MESSAGE = "Please make sure that osimage.provmethod is set to statelite before calling this command.";

export interface LiteResult {
  image: string;
  rootimg: string;
  entries: LiteEntry[];
  /** Entries of the previous run that were reverted (option changed, moved or removed). */
  reverted: string[];
  /** rootimg-statelite.gz, for osimage.rootfstype=ramdisk. */
  packed: { file: string; compress: string; bytes: number } | null;
}

/** Where lite works and the checks liteimg makes before touching anything. */
export function liteTarget(ctx: Context, img: Image): { dir: string; rootimg: string; profile: string; arch: string } {
  if (img.attrs.provmethod !== "statelite") throw new DataError(PROVMETHOD_MESSAGE, { hint: `xcimg image set ${img.name} provmethod=statelite` });
  const { osvers, osarch, profile } = img.attrs;
  if (!osvers || !osarch || !profile) {
    throw new DataError(
      `osimage.osvers, osimage.osarch, and osimage.profile and must be specified for the image ${img.name} in the database, or you must specify -o os -p profile -a arch.`,
      {
        hint: `xcimg image set ${img.name} osvers=... osarch=... profile=...`,
      },
    );
  }
  const dir = rootImgDir(ctx.config, img);
  const rootimg = join(dir, "rootimg");
  if (!lstatOrNull(rootimg)?.isDirectory()) {
    throw new NotFoundError(`no rootimage dir: ${rootimg} does not exist`, {
      hint: `capture the image first (xcimg capture <node> -t diskless -o ${img.name})`,
    });
  }
  return { dir, rootimg, profile, arch: osarch };
}

/** The litefile list as liteimg applies it: ilitefile, with "tmpfs,rw" rewritten to "link". */
export function appliedEntries(ctx: Context, image: string): LiteEntry[] {
  return imageLiteEntries(ctx.db(), image).map((e) => ({ file: e.file, options: rewriteOption(e.options) }));
}

/**
 * xcimg lite = xCAT liteimg <image> (statelite.pm process_request): validate the merged
 * litefile list, revert what the previous run did for entries that changed, build the
 * .default/.statelite structure (lite-item.ts), install the node script and, for ramdisk
 * images, pack rootimg-statelite.gz. Validation happens before anything changes.
 */
export async function liteImage(ctx: Context, img: Image, opts: { syncfiles?: boolean } = {}): Promise<LiteResult> {
  const { dir, rootimg, profile, arch } = liteTarget(ctx, img);
  const lock = lockImageDir(ctx.config.installdir, dir, `xcimg lite ${img.name}`);
  try {
    removeDeadTemps(dir, ctx.log);
    ctx.log.info(`Modifying ${rootimg} ...`);
    const entries = appliedEntries(ctx, img.name);
    validateEntries(entries, img.name);
    const hierarchy = buildHierarchy(entries);
    validateHierarchy(hierarchy, img.name);
    guardTree(rootimg, ctx.log, { nfsRoot: treeIsNfsRoot(img) });

    const image = new ImageRoot(rootimg);
    const c: LiteCtx = { img: image, log: ctx.log, signal: ctx.signal };
    await refreshXcatpost(ctx, image);
    if (opts.syncfiles !== false) await syncIntoImage(ctx, img, rootimg);
    updateFstab(image, profile, arch);
    // as packimage: root's password from the passwd table (or locked by site.secureroot)
    const rootPassword = rootPasswordMessage(setRootPassword(ctx, rootimg));
    if (rootPassword) ctx.log.info(rootPassword);

    const stateDir = image.follow("/.statelite");
    const saveFile = join(stateDir, "litefile.save");
    const previous = existsSync(saveFile) ? parseSavedList(readFileSync(saveFile, "utf8")) : [];
    if (!lstatOrNull(stateDir)?.isDirectory()) {
      ctx.log.info(`creating ${rootimg}/.statelite`);
      rmrf(stateDir);
      mkdirp(stateDir);
    }
    mkdirp(join(stateDir, "tmpfs"));

    // .statebackup is scratch space for reverting; a leftover from a crash is stale
    const backup = image.at("/.statebackup");
    rmrf(backup);
    mkdirp(backup);
    removeDracutLeftovers(image);
    const reverted = await recoverChanged(c, previous, entries);
    rmrf(backup);

    // saved before the structure is built, as xCAT does: a run cut short is reverted from it
    writeFileAtomic(saveFile, entries.map((e) => `${ilitefileLine(img.name, e)}\n`).join(""), 0o644);
    for (const { entry, isChild } of processingOrder(hierarchy)) {
      if (ctx.signal.aborted) throw new InterruptedError("interrupted; run 'xcimg lite' again to finish the image");
      await liteItem(c, entry, isChild);
    }
    ctx.log.info(`Modifying ${rootimg} done.`);

    installNodeScript(image);
    let packed: LiteResult["packed"] = null;
    if (img.attrs.rootfstype === "ramdisk") {
      writeXcatinfo(rootimg, img.name);
      ctx.log.info(`Packing contents of ${rootimg} ...`);
      ctx.log.info("compress method: gzip");
      packed = await packStateliteRamdisk(rootimg, join(dir, "rootimg-statelite.gz"), img.attrs.exlist, ctx.signal);
      ctx.log.info(`Packing contents of ${rootimg} done.`);
    }
    return { image: img.name, rootimg, entries, reverted, packed };
  } finally {
    lock.release();
  }
}

/** liteimg refreshes /xcatpost from <installdir>/postscripts; done only when a site has one. */
async function refreshXcatpost(ctx: Context, image: ImageRoot): Promise<void> {
  const src = join(ctx.config.installdir, "postscripts");
  if (!lstatOrNull(src)?.isDirectory()) return;
  const dst = image.at("/xcatpost");
  rmrf(dst);
  await copyA(src, dst, ctx.signal);
}

/**
 * updateFstab: on lines starting with "<profile>_<arch>" (the root entry of xCAT's SLES
 * images) the first whole word "rw" becomes "ro". A missing fstab is left missing (xCAT
 * creates an empty one).
 */
export function updateFstab(image: ImageRoot, profile: string, arch: string): void {
  const file = image.follow("/etc/fstab");
  if (!lstatOrNull(file)?.isFile()) return;
  const text = readFileSync(file, "utf8");
  const prefix = `${profile}_${arch}`;
  const out = text
    .split("\n")
    .map((l) => (l.startsWith(prefix) ? l.replace(/\brw\b/, "ro") : l))
    .join("\n");
  if (out !== text) writeFileSync(file, out); // same inode: owner and mode stay
}

/** rootimg/tmp/dracut.*: genimage leftovers liteimg deletes so they are not copied around. */
function removeDracutLeftovers(image: ImageRoot): void {
  const tmp = image.follow("/tmp");
  let names: string[] = [];
  try {
    names = readdirSync(tmp);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith("dracut.")) rmrf(join(tmp, n));
}

function installNodeScript(image: ImageRoot): void {
  // where xcimg boot's per-node files land (node.env, statelite.conf): present in the shared
  // image, a node's initrd gives it a small in-memory copy instead of one of all of /etc
  mkdirp(image.follow("/etc/xcimg"));
  const dir = image.follow("/etc/init.d");
  mkdirp(dir);
  writeFileAtomic(join(dir, "statelite"), RC_STATELITE, 0o755);
}
