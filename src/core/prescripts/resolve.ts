import type { Db } from "../db/open";
import { enabledRow, isDisabled, rowsWhereIn } from "../db/rows";
import { scriptsForAction } from "./parse";

export type PrescriptPhase = "begin" | "end";

/** One script list and the nodes that run it: xCAT runs each list once for its nodes together. */
export interface PrescriptBatch {
  scripts: string[];
  nodes: string[];
}

/**
 * The scripts each node runs for this action and phase, as prescripts.pm getprescripts resolves
 * them: the `xcatdefaults` row's scripts first, then the node's own row, else its first group's
 * row in nodelist.groups order (getNodesAttribs); nodes with the same list share one batch,
 * batches in the order their first node was given.
 */
export function prescriptBatches(db: Db, nodes: readonly string[], action: string, phase: PrescriptPhase): PrescriptBatch[] {
  const defaults = scriptsForAction(enabledRow(db, "prescripts", { node: "xcatdefaults" })?.[phase], action);
  const groupsOf = new Map<string, string[]>();
  for (const row of rowsWhereIn(db, "nodelist", "node", nodes))
    groupsOf.set(
      row.node as string,
      (row.groups ?? "")
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean),
    );
  const keys = new Set<string>(nodes);
  for (const gs of groupsOf.values()) for (const g of gs) keys.add(g);
  const rows = new Map<string, string>();
  for (const row of rowsWhereIn(db, "prescripts", "node", [...keys])) {
    const v = row[phase];
    if (!isDisabled(row) && v) rows.set(row.node as string, v);
  }
  const batches = new Map<string, PrescriptBatch>();
  for (const node of nodes) {
    const own = [node, ...(groupsOf.get(node) ?? [])].find((k) => rows.has(k));
    const scripts = [...defaults, ...scriptsForAction(own ? rows.get(own) : undefined, action)];
    if (!scripts.length) continue;
    const key = scripts.join(",");
    const batch = batches.get(key) ?? { scripts, nodes: [] };
    batch.nodes.push(node);
    batches.set(key, batch);
  }
  return [...batches.values()];
}
