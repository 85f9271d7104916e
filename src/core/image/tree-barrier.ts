import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Image } from "../defs/image";
import { fsError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import type { Logger } from "../log";
import { imageFacts } from "./method-facts";
import { missingMountSafety } from "./mount-options";

/**
 * The barrier between an image tree and the management node's local users.
 *
 * A captured or imported tree (netboot/statelite rootimg/, a sysclone image directory) is a
 * whole root filesystem: setuid-root programs, 0666 device nodes, world-writable /tmp. Under
 * 0755 directories every local user of the MN could run /usr/bin/passwd of the image as root
 * or open its /dev/sda. The modes inside must stay as they are (nodes need them), so the
 * barrier is the tree's top directory: root:root 0700 on the MN. The image directory above it
 * stays web-readable (nodes fetch rootimg.cpio.gz, kernel and initrds from it over HTTP).
 *
 * The tree's top directory becomes `/` on the node, so what the node must see there (the golden
 * node's or the bundle's mode and owner, recorded when the tree was made) is kept next to the
 * tree in `.<tree>.node-mode` (`mode=0755 uid=0 gid=0`), and everything that turns the tree into what a node sees
 * (archiveTree: pack, lite's ramdisk, clone's archives; squashfs; export) writes that instead.
 *
 * Statelite images with an NFS root are the exception: the NFS export's top directory IS the
 * node's `/`, so it keeps the node's mode, and the filesystem holding it should be mounted
 * nosuid,nodev on the MN (checked and warned about; docs/statelite.md §7).
 */
export const BARRIER_MODE = 0o700;

/** What the node sees at `/`. */
export interface TreeTop {
  mode: number;
  uid: number;
  gid: number;
}

/** A node's `/` when nothing was recorded: what every distribution ships. */
export const DEFAULT_TOP: TreeTop = { mode: 0o755, uid: 0, gid: 0 };

/** Where the node's `/` is recorded: beside the tree (for a netboot tree, in its rootimgdir). */
export function topRecordPath(tree: string): string {
  return join(dirname(tree), `.${basename(tree)}.node-mode`);
}

/** The recorded `/` of the node, or null when none was recorded (or the record is unreadable). */
export function readTop(tree: string): TreeTop | null {
  let text: string;
  try {
    text = readFileSync(topRecordPath(tree), "utf8");
  } catch {
    return null;
  }
  const m = /^mode=0?([0-7]{3,4}) uid=(\d+) gid=(\d+)\s*$/.exec(text);
  if (!m) return null;
  return { mode: Number.parseInt(m[1] as string, 8) & 0o7777, uid: Number(m[2]), gid: Number(m[3]) };
}

function writeTop(tree: string, top: TreeTop): void {
  try {
    mkdirSync(dirname(tree), { recursive: true, mode: 0o755 }); // an import places the tree's parent itself, later
  } catch (e) {
    throw fsError(e, `cannot create ${dirname(tree)}`);
  }
  writeFileAtomic(topRecordPath(tree), `mode=0${top.mode.toString(8)} uid=${top.uid} gid=${top.gid}\n`, 0o644);
}

/**
 * The `/` a node gets from this tree: the recorded one; else, for a tree that has no barrier
 * yet (made by an earlier xcimg, or not an image tree at all: clone's overrides), its own
 * top; else the default. A top at exactly the barrier's 0700 is never taken for a node's:
 * such a node would lock every non-root user out of its whole filesystem.
 */
export function nodeTop(tree: string): TreeTop {
  const recorded = readTop(tree);
  if (recorded) return recorded;
  const st = statOrThrow(tree);
  const own = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  return isBarrier(own) ? DEFAULT_TOP : own;
}

/** Apply the node's `/` to an archive entry's mode (keeping its file-type bits). */
export function withTopMode(entryMode: number, top: TreeTop): number {
  return (entryMode & ~0o7777) | top.mode;
}

const isBarrier = (t: TreeTop) => t.mode === BARRIER_MODE && t.uid === 0 && t.gid === 0;

/**
 * For every creator of a tree (capture's staging tree, import's unpacked tree), before it is
 * moved to `final`: record the top the golden node or bundle gave it, then close it. A staged
 * top at 0700 (an incremental capture whose archive did not carry `.`, a bundle exported from
 * a barred tree by another tool) keeps the previous record, or the default.
 */
export function sealNewTree(staged: string, final: string): TreeTop {
  const st = lstatOrThrow(staged);
  const own = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  const top = isBarrier(own) ? (readTop(final) ?? DEFAULT_TOP) : own;
  writeTop(final, top);
  close(staged);
  return top;
}

/** True when nodes mount this image's tree itself over NFS (the method's facts: statelite, rootfstype other than ramdisk). */
export function treeIsNfsRoot(img: Image): boolean {
  return imageFacts(img.attrs.provmethod).nfsRoot?.(img) ?? false;
}

/**
 * For every command that touches an existing tree (pack, lite, boot, clone): a tree an earlier
 * xcimg left open gets its barrier now, its top recorded first (said once, as an info line);
 * an NFS root gets the node's top back and a warning when its filesystem lets setuid programs
 * and device nodes work on the MN.
 */
export function guardTree(tree: string, log: Logger, opts: { nfsRoot?: boolean } = {}): void {
  const st = statOrThrow(tree); // an admin's rootimg -> /srv/images/x symlink: the directory it names
  const own = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (opts.nfsRoot) {
    const top = nodeTop(tree);
    if (!readTop(tree)) writeTop(tree, top);
    if (own.mode !== top.mode || own.uid !== top.uid || own.gid !== top.gid) {
      setTop(tree, top);
      log.info(`${tree} is an NFS root: its top directory is the nodes' /, so it is 0${top.mode.toString(8)} again (it was 0${own.mode.toString(8)})`);
    }
    const missing = missingMountSafety(tree);
    if (missing.length) {
      log.warn(
        `${tree} is exported to nodes as their root and is open to local users of this management node, on a filesystem mounted without ${missing.join(",")}: its setuid programs and device nodes work here too. Mount the filesystem holding it ${missing.join(",")} (docs/statelite.md, "Who can reach the image tree")`,
      );
    }
    return;
  }
  if (isBarrier(own)) return;
  if (!readTop(tree)) writeTop(tree, own);
  close(tree);
  log.info(
    `closed ${tree} to other users of this management node (root:root 0700, was ${own.uid}:${own.gid} 0${own.mode.toString(8)}); nodes still get / as 0${nodeTop(tree).mode.toString(8)}`,
  );
}

/** A tree moved to a new name (capture's rollback point, replace-guard.ts): its node's `/` recorded there, and closed. */
export function sealMovedTree(tree: string, top: TreeTop): void {
  writeTop(tree, top);
  close(tree);
}

function close(tree: string): void {
  setTop(tree, { mode: BARRIER_MODE, uid: 0, gid: 0 });
}

/** Give a directory the node's `/`: an NFS root (guardTree), or a private copy of a tree (clone --update's rsync source). */
export function setTop(tree: string, top: TreeTop): void {
  try {
    // chmod first: a chown of a directory owned by someone else must never leave it open to them
    chmodSync(tree, top.mode & 0o700);
    chownSync(tree, top.uid, top.gid);
    chmodSync(tree, top.mode);
  } catch (e) {
    throw fsError(e, `cannot set the mode of ${tree}`);
  }
}

function statOrThrow(p: string) {
  try {
    return statSync(p);
  } catch (e) {
    throw fsError(e, `cannot read ${p}`);
  }
}

function lstatOrThrow(p: string) {
  try {
    return lstatSync(p);
  } catch (e) {
    throw fsError(e, `cannot read ${p}`);
  }
}
