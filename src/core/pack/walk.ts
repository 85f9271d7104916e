import { lstatSync, readdirSync, type Stats } from "node:fs";
import { fsError } from "../errors";
import type { PathFilter } from "./exlist";

/**
 * One file of the image as it goes into an archive. `rel` is the path below the root as raw
 * bytes (names need not be UTF-8), "." for the root itself, never with a leading "./".
 */
export interface TreeEntry {
  rel: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  rdev: number;
  /** Archive inode number: 1..n in archive order, shared by the links of one file. */
  ino: number;
  /** Links to this file inside the archive (1 unless hardlinked). */
  nlink: number;
  /** False for the 2nd..nth link of a hardlinked file: its data went with the first. */
  carriesData: boolean;
}

export interface WalkResult {
  entries: TreeEntry[];
  /** Regular-file bytes that will be archived (hardlinked data counted once). */
  dataBytes: number;
  /** Entries added only because something below them was included (their own exclude lost). */
  impliedParents: number;
  /** Mount points not descended into (find -xdev). */
  otherFilesystems: string[];
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

interface Pending {
  entry: TreeEntry;
  emitted: boolean;
}

/**
 * Walk `root` the way xCAT's `find . -xdev` does (xdev: false descends into other filesystems,
 * as liteimg's find does), filtered by the exlist rules, and return
 * the entries in archive order. Unlike find, the order is deterministic (names sorted
 * bytewise, as the kernel and cpio see them), a kept entry always has its parent directories
 * before it (an include below an excluded directory would otherwise be lost at unpack time),
 * and all links of a hardlinked file sit together at the position of the last one, so an
 * archive split at entry boundaries never separates them and the first carries the data.
 */
export function walkTree(root: string, filter: PathFilter, opts: { xdev?: boolean } = {}): WalkResult {
  const xdev = opts.xdev ?? true;
  const rootAbs = Buffer.from(root);
  const rootSt = statOrThrow(rootAbs, root);
  const rootDev = rootSt.dev;
  const out: TreeEntry[] = [];
  const stack: Pending[] = [];
  const links = new Map<string, TreeEntry[]>();
  const result: WalkResult = { entries: out, dataBytes: 0, impliedParents: 0, otherFilesystems: [] };

  const emit = (e: TreeEntry) => {
    for (const p of stack) {
      if (p.emitted) continue;
      p.emitted = true;
      out.push(p.entry);
      result.impliedParents++;
    }
    out.push(e);
  };

  const visitDir = (rel: Buffer, abs: Buffer, st: Stats, depth: number) => {
    const name = rel.length === 1 && rel[0] === 0x2e ? "." : `./${rel.toString("latin1")}`;
    const entry = toEntry(rel, st);
    const kept = filter.keep(name);
    const pending: Pending = { entry, emitted: false };
    if (kept) {
      emit(entry);
      pending.emitted = true;
    }
    if (xdev && st.dev !== rootDev) {
      result.otherFilesystems.push(name);
      return;
    }
    if (filter.pruneBelow(name)) return;
    stack.push(pending);
    const names = readDir(abs, name);
    for (const child of names) {
      const childRel = depth === 0 ? child : Buffer.concat([rel, SLASH, child]);
      const childAbs = Buffer.concat([abs, SLASH, child]);
      const cst = lstatMaybe(childAbs, `./${childRel.toString("latin1")}`);
      if (!cst) continue; // vanished while we walked
      if ((cst.mode & S_IFMT) === S_IFDIR) {
        visitDir(childRel, childAbs, cst, depth + 1);
        continue;
      }
      if (!filter.keep(`./${childRel.toString("latin1")}`)) continue;
      const e = toEntry(childRel, cst);
      if ((cst.mode & S_IFMT) === S_IFREG && cst.nlink > 1) {
        // group by (dev, inode) read as bigint: inode numbers above 2^53 exist on xfs/btrfs
        const big = lstatSync(childAbs, { bigint: true });
        const key = `${big.dev}:${big.ino}`;
        const group = links.get(key);
        if (group) group.push(e);
        else links.set(key, [e]);
      }
      emit(e);
    }
    stack.pop();
  };

  visitDir(Buffer.from("."), rootAbs, rootSt, 0);
  const ordered = regroupHardlinks(out, links);
  let ino = 0;
  const inoOf = new Map<TreeEntry[], number>();
  const groupOf = new Map<TreeEntry, TreeEntry[]>();
  for (const g of links.values()) if (g.length > 1) for (const e of g) groupOf.set(e, g);
  for (const e of ordered) {
    const g = groupOf.get(e);
    if (!g) {
      e.ino = ++ino;
      if ((e.mode & S_IFMT) === S_IFREG) result.dataBytes += e.size;
      continue;
    }
    let n = inoOf.get(g);
    if (n === undefined) {
      n = ++ino;
      inoOf.set(g, n);
      e.carriesData = true;
      result.dataBytes += e.size;
    } else e.carriesData = false;
    e.ino = n;
    e.nlink = g.length;
  }
  result.entries = ordered;
  return result;
}

/** Move every multi-link group to the position of its last member (see walkTree). */
function regroupHardlinks(entries: TreeEntry[], links: Map<string, TreeEntry[]>): TreeEntry[] {
  const last = new Map<TreeEntry, TreeEntry[]>();
  const deferred = new Set<TreeEntry>();
  for (const g of links.values()) {
    if (g.length < 2) continue;
    last.set(g[g.length - 1] as TreeEntry, g);
    for (let i = 0; i < g.length - 1; i++) deferred.add(g[i] as TreeEntry);
  }
  if (last.size === 0) return entries;
  const out: TreeEntry[] = [];
  for (const e of entries) {
    if (deferred.has(e)) continue;
    const g = last.get(e);
    if (g) out.push(...g);
    else out.push(e);
  }
  return out;
}

const SLASH = Buffer.from("/");

function toEntry(rel: Buffer, st: Stats): TreeEntry {
  const isReg = (st.mode & S_IFMT) === S_IFREG;
  return {
    rel,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: isReg ? st.size : 0,
    mtime: Math.floor(st.mtimeMs / 1000),
    rdev: st.rdev,
    ino: 0,
    nlink: (st.mode & S_IFMT) === S_IFDIR ? st.nlink : 1,
    carriesData: true,
  };
}

function readDir(abs: Buffer, name: string): Buffer[] {
  try {
    const names = readdirSync(abs, { encoding: "buffer" }) as Buffer[];
    return names.sort(Buffer.compare);
  } catch (e) {
    throw fsError(e, `cannot read directory ${name} of the image`);
  }
}

function statOrThrow(abs: Buffer, shown: string): Stats {
  try {
    return lstatSync(abs);
  } catch (e) {
    throw fsError(e, `cannot read ${shown}`);
  }
}

function lstatMaybe(abs: Buffer, shown: string): Stats | null {
  try {
    return lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw fsError(e, `cannot read ${shown} of the image`);
  }
}

/** Bytes of a path for fs calls: root + "/" + rel (the root itself for "."). */
export function absPath(root: Buffer, rel: Buffer): Buffer {
  if (rel.length === 1 && rel[0] === 0x2e) return root;
  return Buffer.concat([root, SLASH, rel]);
}
