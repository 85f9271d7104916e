import type { Db } from "../db/open";
import { enabledRow, upsert } from "../db/rows";
import { listNodes, readNodes } from "../defs/node";
import { NotFoundError } from "../errors";
import { dbNodeSource } from "../noderange/db-source";
import { expandNoderange } from "../noderange/index";

/**
 * `-p` on export and import (xcat.md §1.2 step 7, §1.5 step 11): a node's postscripts
 * travel in the manifest as xcatdefaults' followed by the node's own; on import they are set
 * on existing nodes, minus the scripts xcatdefaults already runs.
 */
const split = (s: string | undefined) => (s ? s.split(",").filter((x) => x !== "") : []);

export function exportPostscripts(db: Db, noderange: string, env: Record<string, string | undefined>): { postscripts?: string; postbootscripts?: string } {
  let nodes: string[] = [];
  try {
    nodes = expandNoderange(noderange, dbNodeSource(db), { env }).filter((n) => listNodes(db).includes(n));
  } catch {
    nodes = [];
  }
  const node = nodes[0];
  if (!node) throw new NotFoundError(`Unable to get postscripts, ${noderange} is not a valide node.`, { hint: "give a node defined with 'xcimg node set'" });
  const own = readNodes(db, [node]).get(node) ?? {};
  const defaults = enabledRow(db, "postscripts", { node: "xcatdefaults" }) ?? {};
  const join = (a: string | undefined, b: string | undefined) => [a, b].filter((x) => x).join(",") || undefined;
  return { postscripts: join(defaults.postscripts, own.postscripts), postbootscripts: join(defaults.postbootscripts, own.postbootscripts) };
}

export interface PostscriptTargets {
  nodes: string[];
  missing: string[];
}

/** Which of the noderange's names are defined nodes (checked before anything is written). */
export function postscriptTargets(db: Db, noderange: string, env: Record<string, string | undefined>): PostscriptTargets {
  const names = expandNoderange(noderange, dbNodeSource(db), { verify: false, env });
  const defined = new Set(listNodes(db));
  const nodes = names.filter((n) => defined.has(n));
  const missing = names.filter((n) => !defined.has(n));
  if (nodes.length === 0) throw new NotFoundError(`The nodes ${noderange} are not defined in xCAT DB.`, { hint: "define them first with 'xcimg node set'" });
  return { nodes, missing };
}

/** Write the manifest's postscripts to the nodes (inside the caller's transaction). */
export function applyPostscripts(db: Db, nodes: readonly string[], postscripts: string | undefined, postbootscripts: string | undefined): boolean {
  const defaults = enabledRow(db, "postscripts", { node: "xcatdefaults" }) ?? {};
  const minus = (list: string | undefined, already: string | undefined) => {
    const have = new Set(split(already));
    if (have.size === 0 || !list) return list;
    return split(list)
      .filter((s) => !have.has(s))
      .join(",");
  };
  const ps = minus(postscripts, defaults.postscripts);
  const pbs = minus(postbootscripts, defaults.postbootscripts);
  if (!ps && !pbs) return false;
  for (const node of nodes) upsert(db, "postscripts", { node }, { postscripts: ps ?? null, postbootscripts: pbs ?? null });
  return true;
}
