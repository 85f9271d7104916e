import type { Config } from "../../core/config/schema";
import type { Db } from "../../core/db/open";
import { findImage } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import { DataError } from "../../core/errors";
import { imageLiteEntries, type LiteEntry, lsliteLine } from "./litefile";
import { type NodeStateliteData, nodeLocations } from "./node-data";

/**
 * `xcimg lite --list <noderange>`, xCAT's `lslite <noderange>` (xCAT-server/lib/xcat/plugins/
 * litetree.pm, sub lslite): per node its osimage, its statelite.statemnt (the persistent
 * directory), the litefile entries of that image and its litetree directories, with `$node`
 * and `$table.column` substituted for that node as it mounts them (node-data.ts).
 */
export interface NodeLiteListing extends Pick<NodeStateliteData, "statemnt" | "mntopts" | "trees"> {
  node: string;
  image: string;
  entries: LiteEntry[];
}

export interface NodeLiteResult {
  nodes: NodeLiteListing[];
  /** node → reason: no image, an image not defined, a value that cannot be substituted. */
  failed: Record<string, string>;
}

/** xCAT's choice of a node's image: nodetype.provmethod when it names one, else <os>-<arch>-statelite-<profile>. */
function nodeImage(a: Record<string, string>): string | null {
  const pm = a.provmethod ?? "";
  if (pm && pm !== "statelite" && pm !== "netboot" && pm !== "install") return pm;
  if (!a.os || !a.arch || !a.profile) return null;
  return `${a.os}-${a.arch}-statelite-${a.profile}`;
}

export function nodeLiteListing(db: Db, config: Config, nodes: readonly string[]): NodeLiteResult {
  const attrs = readNodes(db, nodes);
  const out: NodeLiteResult = { nodes: [], failed: {} };
  for (const node of nodes) {
    const a = attrs.get(node) ?? {};
    const image = nodeImage(a);
    if (!image) {
      out.failed[node] = "has no osimage: set nodetype.provmethod (or os, arch and profile)";
      continue;
    }
    if (!findImage(db, image)) {
      out.failed[node] = `its osimage '${image}' is not defined`;
      continue;
    }
    try {
      out.nodes.push({ node, image, ...nodeLocations(db, config, node, image), entries: imageLiteEntries(db, image) });
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      out.failed[node] = e.message;
    }
  }
  return out;
}

/** lslite's layout for one node (lslite.1.pod's example; litetree.pm's showSync lines). */
export function nodeLiteLines(l: NodeLiteListing): string[] {
  const opts = (o: string) => (o ? ` :${o}` : "");
  return [
    `>>>Node: ${l.node}`,
    "",
    `Osimage: ${l.image}`,
    "",
    "Persistent directory (statelite table):",
    ...(l.statemnt ? [`        ${l.statemnt}${opts(l.mntopts)}`] : []),
    "",
    "Litefiles (litefile table):",
    ...l.entries.map(lsliteLine),
    "",
    "Litetree path (litetree table):",
    ...l.trees.map((t) => `        ${t.priority}, ${t.dir}${opts(t.mntopts)}`),
    "",
  ];
}
