import { posix } from "node:path";
import { type LiteEntry, sortEntries } from "./litefile";

/**
 * statelite.pm parseLiteFiles: an entry's parent is its nearest ancestor directory that is
 * itself listed as a directory entry (trailing "/"). Entries with children are "keys"; an
 * entry can be a child of one key and a key of its own (/var/ → /var/lib/ → /var/lib/x).
 *
 * xCAT finds the ancestor by matching the end of whole "image: options file" lines, so a
 * listed /x/etc/ also "matches" /etc/ and hides it as a parent; xcimg compares paths exactly.
 */
export interface Hierarchy {
  entries: LiteEntry[];
  byFile: Map<string, LiteEntry>;
  /** file → its parent entry, or null for top-level entries. */
  parentOf: Map<string, LiteEntry | null>;
  /** parent file → its children, in file order. */
  children: Map<string, LiteEntry[]>;
}

export function buildHierarchy(list: readonly LiteEntry[]): Hierarchy {
  const entries = sortEntries(list);
  const byFile = new Map(entries.map((e) => [e.file, e]));
  const parentOf = new Map<string, LiteEntry | null>();
  const children = new Map<string, LiteEntry[]>();
  for (const e of entries) {
    const parent = nearestDirAncestor(e.file, byFile);
    parentOf.set(e.file, parent);
    if (parent) {
      const list = children.get(parent.file) ?? [];
      list.push(e);
      children.set(parent.file, list);
    }
  }
  return { entries, byFile, parentOf, children };
}

function nearestDirAncestor(file: string, byFile: Map<string, LiteEntry>): LiteEntry | null {
  let dir = posix.dirname(stripSlash(file));
  while (dir !== "/" && dir !== ".") {
    const hit = byFile.get(`${dir}/`);
    if (hit) return hit;
    dir = posix.dirname(dir);
  }
  return null;
}

/** "/var/lib/" → "/var/lib"; "/" stays "/". */
export function stripSlash(f: string): string {
  return f.length > 1 && f.endsWith("/") ? f.replace(/\/+$/, "") || "/" : f;
}

/**
 * liteMe's processing order, made deterministic (xCAT walks a Perl hash): every key (top-level
 * entry, or entry with children) in file order, each followed by its children.
 */
export function processingOrder(h: Hierarchy): { entry: LiteEntry; isChild: boolean }[] {
  const out: { entry: LiteEntry; isChild: boolean }[] = [];
  for (const e of h.entries) {
    const kids = h.children.get(e.file);
    if (h.parentOf.get(e.file) && !kids) continue;
    out.push({ entry: e, isChild: false });
    for (const c of kids ?? []) out.push({ entry: c, isChild: true });
  }
  return out;
}
