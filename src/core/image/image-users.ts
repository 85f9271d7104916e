import type { Db } from "../db/open";
import { listNodes, readNodes } from "../defs/node";

/**
 * The nodes that boot `image` next: their effective nodetype.provmethod (own row or group row,
 * as `boot` resolves it) names it. Removing the image's files under them would leave them a
 * boot config pointing at nothing.
 */
export function nodesBootingImage(db: Db, image: string): string[] {
  const nodes = listNodes(db);
  const attrs = readNodes(db, nodes);
  return nodes.filter((n) => attrs.get(n)?.provmethod === image);
}
