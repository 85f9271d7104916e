import type { OperationFns } from "../types";
import { cloneNodes } from "./prepare";
import { updateNodes } from "./update";

/**
 * clone for sysclone images: prepare nodes to clone themselves at their next
 * network boot, or (update) bring running clones up to date over SSH.
 */
export const clone: OperationFns["clone"] = async (ctx, img, r) => {
  if (r.update) return updateNodes(ctx, img, { nodes: r.nodes, dryRun: Boolean(r.dryRun), ssh: r.ssh ?? {}, noDelete: r.noDelete, excludeFrom: r.excludeFrom });
  return cloneNodes(ctx, img, {
    nodes: r.nodes,
    dryRun: Boolean(r.dryRun),
    diskBytes: r.diskBytes,
    disk: r.disk,
    waitSeconds: r.rebootAfter ?? 0,
    rowsOnly: r.rowsOnly,
    fromSync: r.fromSync,
  });
};
