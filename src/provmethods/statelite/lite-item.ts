import { readlinkSync } from "node:fs";
import { dirname, posix } from "node:path";
import { type ImageRoot, lstatOrNull } from "../../core/image/image-root";
import type { Logger } from "../../core/log";
import { isLinkOption } from "../../core/tables/litefile-options";
import { copyA, mkdirp, rmrf, symlinkReplace, touch } from "./fsops";
import { stripSlash } from "./hierarchy";
import type { LiteEntry } from "./litefile";

export interface LiteCtx {
  img: ImageRoot;
  log: Logger;
  signal?: AbortSignal;
}

/** Where the kernel keeps the mount table; an /etc/mtab already pointing there is left alone. */
const KERNEL_MTABS = new Set(["/proc/self/mounts", "/proc/mounts"]);

/**
 * statelite.pm liteItem: the image-time structure for one entry (xcat.md §3.2 table).
 *
 * link-based, top level: the original moves to .default<f> and two relative symlinks make
 *   <f> -> <rel>/.statelite/tmpfs<f> -> ../../<rel>/.default<f>
 * so the node, which mounts a fresh tmpfs on /.statelite and copies the entry there, sees a
 * writable <f>; an entry that resolves into .default already (done before, or its parent
 * directory is linked) is left alone.
 * link-based, child of a linked directory: only makes sure .default<f> exists.
 * everything else: <f> stays where it is (created empty if absent) and a copy goes to
 * .default<f>, the source the node copies or bind-mounts from.
 */
export async function liteItem(c: LiteCtx, entry: LiteEntry, isChildIn: boolean): Promise<void> {
  const { img, log } = c;
  const isDir = entry.file.endsWith("/");
  const f = stripSlash(entry.file);
  const d = posix.dirname(f);
  let isChild = isChildIn;

  if (!isLinkOption(entry.options)) {
    const live = img.resolve(f, true);
    if (!lstatOrNull(live.host)) {
      log.debug(`create ${entry.file} in the image`);
      if (isDir) mkdirp(live.host);
      else {
        mkdirp(dirname(live.host));
        touch(live.host);
      }
    }
    mkdirp(img.follow(`/.default${d}`));
    // "dir/" is copied through a final symlink (as cp does with a trailing slash), a file
    // entry copies the symlink itself
    const src = isDir ? live.host : img.at(f);
    const dst = img.at(`/.default${f}`);
    if (src !== dst) {
      log.debug(`cp -a ${src} ${dst}`);
      await copyA(src, dst, c.signal);
    }
    return;
  }

  if (f === "/etc/mtab") {
    if (mtabIsKernelLink(img)) {
      log.debug("skipping /etc/mtab (symlink to /proc/self/mounts)");
      return;
    }
    isChild = false; // handled on its own even below a linked /etc/
  }

  if (isChild) {
    const def = img.follow(`/.default${f}`);
    const st = lstatOrNull(def);
    if (isDir) {
      if (!st?.isDirectory()) {
        if (st) rmrf(def);
        mkdirp(def);
      }
    } else if (!st) {
      mkdirp(dirname(def));
      touch(def);
    }
    return;
  }

  const live = img.resolve(f, true);
  if (live.viaDefault) {
    log.debug(`do nothing for file ${entry.file}`);
    return;
  }
  const rif = img.at(f);
  if (lstatOrNull(live.host)) {
    // a real file or directory, or a symlink to one: its content as the node sees it goes to
    // .default; only the entry itself is removed, never a symlink's target
    const def = img.at(`/.default${f}`);
    log.debug(`cp -a ${live.host} ${def}; rm -rf ${rif}`);
    await copyA(live.host, def, c.signal);
    rmrf(rif);
  } else {
    mkdirp(img.follow(d));
    mkdirp(img.follow(`/.default${d}`));
    if (isDir) mkdirp(img.follow(`/.default${f}`));
    else touch(img.at(`/.default${f}`));
  }
  mkdirp(img.follow(`/.statelite/tmpfs${d}`));
  const rel = relDir(f);
  symlinkReplace(`../../${rel}/.default${f}`, img.at(`/.statelite/tmpfs${f}`));
  symlinkReplace(`${rel}/.statelite/tmpfs${f}`, img.at(f));
}

function mtabIsKernelLink(img: ImageRoot): boolean {
  const host = img.at("/etc/mtab");
  if (!lstatOrNull(host)?.isSymbolicLink()) return false;
  const target = readlinkSync(host);
  return KERNEL_MTABS.has(posix.normalize(target.startsWith("/") ? target : posix.join("/etc", target)));
}

/** getRelDir: one ".." per component of dirname(f) ("/x" → ".", "/etc/x" → "..", "/var/lib/x" → "../.."). */
export function relDir(fileNoSlash: string): string {
  const d = posix.dirname(fileNoSlash);
  if (d === "/") return ".";
  return d
    .split("/")
    .slice(1)
    .map(() => "..")
    .join("/");
}
