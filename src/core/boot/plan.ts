import type { Context } from "../context";
import { readNodes } from "../defs/node";
import { isProvMethodName } from "../provmethod/names";

/**
 * Which image each node boots: the one named with -o, else the node's nodetype.provmethod
 * (xCAT `nodeset <noderange> osimage`). Nodes that name none are reported, not skipped silently.
 */
export function nodesByImage(ctx: Context, nodes: readonly string[], osimage?: string): { groups: Map<string, string[]>; failed: Record<string, string> } {
  const groups = new Map<string, string[]>();
  const failed: Record<string, string> = {};
  if (osimage) {
    groups.set(osimage, [...nodes]);
    return { groups, failed };
  }
  const attrs = readNodes(ctx.db(), nodes);
  for (const n of nodes) {
    const img = attrs.get(n)?.provmethod;
    if (!img || isProvMethodName(img)) {
      failed[n] = "OS image name must be specified in nodetype.provmethod (or give -o <osimage>)";
      continue;
    }
    const g = groups.get(img);
    if (g) g.push(n);
    else groups.set(img, [n]);
  }
  return { groups, failed };
}
