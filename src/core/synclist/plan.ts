import { lstatSync, readdirSync, readlinkSync, type Stats, statSync } from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import { NotFoundError } from "../errors";
import type { Synclist } from "./parse";

/**
 * A synclist made concrete for one target (a node, or the image when `node` is null): globs
 * and directory sources expanded on the management node into single operations. Entries with
 * a noderange apply to the nodes in it; the image gets only the entries for every node (the
 * others reach their nodes with `updatenode -F`).
 */
export type SyncOp =
  | { op: "file"; src: string; dest: string; mode: number; line: number }
  | { op: "dir"; dest: string; mode: number; line: number }
  | { op: "symlink"; dest: string; target: string; line: number }
  | { op: "append"; src: string; dest: string; line: number }
  | { op: "merge"; src: string; dest: string; line: number };

export interface SyncPlan {
  ops: SyncOp[];
  /** EXECUTE scripts (MN paths) with the MN file whose change triggers each. */
  execute: { script: string; trigger: string }[];
  executeAlways: string[];
  /** Entries left out for this target (noderange), as `file:line`. */
  notForTarget: string[];
}

/** Decides whether a `(noderange)` qualifier includes the target; null target = the image. */
export type InRange = (noderange: string) => boolean;

function lst(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function expandSource(src: string, where: string): string[] {
  const base = basename(src);
  if (!/[*?[]/.test(base)) {
    if (!lst(src))
      throw new NotFoundError(`${where}: the source ${src} does not exist on this management node`, { hint: "fix the synclist or create the file" });
    return [src];
  }
  const dir = dirname(src);
  if (/[*?[]/.test(dir)) throw new NotFoundError(`${where}: only the last component of a source may be a pattern (${src})`);
  const glob = new Bun.Glob(base);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => glob.match(n) && (base.startsWith(".") || !n.startsWith(".")));
  } catch {
    // no such directory: no match
  }
  return names.sort().map((n) => join(dir, n));
}

/** A directory's contents as operations under dest (links stay links, as rsync -a keeps them). */
function walk(src: string, dest: string, line: number, out: SyncOp[]): void {
  for (const name of readdirSync(src).sort()) {
    const s = join(src, name);
    const d = posix.join(dest, name);
    const st = lstatSync(s);
    if (st.isSymbolicLink()) out.push({ op: "symlink", dest: d, target: readlinkSync(s), line });
    else if (st.isDirectory()) {
      out.push({ op: "dir", dest: d, mode: st.mode & 0o7777, line });
      walk(s, d, line, out);
    } else if (st.isFile()) out.push({ op: "file", src: s, dest: d, mode: st.mode & 0o7777, line });
  }
}

export function planSync(list: Synclist, inRange: InRange | null): SyncPlan {
  const plan: SyncPlan = { ops: [], execute: [], executeAlways: [], notForTarget: [] };
  const applies = (nodes: string | undefined, line: number) => {
    if (!nodes) return true;
    if (inRange?.(nodes)) return true;
    plan.notForTarget.push(`${list.file}:${line}`);
    return false;
  };
  for (const e of list.entries) {
    if (!applies(e.nodes, e.line)) continue;
    const where = `${list.file}:${e.line}`;
    if (e.kind !== "copy") {
      const src = e.sources[0] as string;
      if (!lst(src)?.isFile()) throw new NotFoundError(`${where}: the source ${src} is not a file on this management node`);
      plan.ops.push({ op: e.kind, src, dest: e.dest, line: e.line });
      continue;
    }
    for (const src of e.sources.flatMap((s) => expandSource(s, where))) {
      const st = statSync(src);
      if (st.isDirectory()) {
        plan.ops.push({ op: "dir", dest: e.dest, mode: st.mode & 0o7777, line: e.line });
        walk(src, e.dest, e.line, plan.ops);
      } else if (st.isFile()) {
        const dest = e.intoDir ? posix.join(e.dest, basename(src)) : e.dest;
        if (e.intoDir) plan.ops.push({ op: "dir", dest: e.dest, mode: 0o755, line: e.line });
        plan.ops.push({ op: "file", src, dest, mode: st.mode & 0o7777, line: e.line });
      }
    }
  }
  for (const x of list.execute) if (applies(x.nodes, x.line)) plan.execute.push({ script: x.script, trigger: x.script.replace(/\.post$/, "") });
  for (const x of list.executeAlways) if (applies(x.nodes, x.line)) plan.executeAlways.push(x.script);
  return plan;
}

/** xCAT's MERGE (xdcpmerge.sh): entries of `add` replace those of `current` with the same name (first field), new ones are appended. */
export function mergeEntries(current: string, add: string): string {
  const name = (l: string) => l.split(":")[0] ?? "";
  const adds = add.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  const byName = new Map(adds.map((l) => [name(l), l]));
  const kept = current.split("\n").filter((l, i, all) => !(i === all.length - 1 && l === ""));
  const out: string[] = [];
  const done = new Set<string>();
  for (const l of kept) {
    const n = name(l);
    const repl = byName.get(n);
    if (repl !== undefined && l.trim()) {
      if (!done.has(n)) out.push(repl);
      done.add(n);
    } else out.push(l);
  }
  for (const l of adds)
    if (!done.has(name(l))) {
      out.push(l);
      done.add(name(l));
    }
  return `${out.join("\n")}\n`;
}
