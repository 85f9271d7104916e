/**
 * xCAT noderange expansion: `node[01-10],compute,-node05`, `rack1@compute`, `/re`, `^file`,
 * `nodetype.os==rhels8.5` … → a sorted list of node names, as xCAT's NodeRange.pm gives it.
 * The cluster is read through a NodeSource: dbNodeSource (db-source.ts) for our tables,
 * memoryNodeSource for data already in hand.
 */
import { expandNoderange as expand } from "./expand";
import type { ExpandOptions, NodeSource } from "./source";

export type { ExpandOptions, NodeSource } from "./source";
export { memoryNodeSource } from "./source";

/**
 * Expand a noderange. Throws UsageError on bad syntax, NotFoundError when (in verify mode)
 * names are neither nodes nor groups or a ^file cannot be read, DataError from the source.
 */
export function expandNoderange(expr: string, src: NodeSource, opts?: ExpandOptions): string[] {
  return expand(expr, src, { verify: opts?.verify, env: opts?.env, readFile: opts?.readFile });
}
