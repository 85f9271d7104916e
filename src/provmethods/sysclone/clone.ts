import type { SshFlags } from "../../core/remote/target";
import type { OperationFns } from "../types";
import { type CloneResult, cloneNodes } from "./prepare";
import { type UpdateResult, updateNodes } from "./update";

/**
 * clone for sysclone images: prepare nodes to clone themselves at their next
 * network boot, or (update) bring running clones up to date over SSH.
 */
export interface SyscloneCloneRequest {
  nodes: string[];
  dryRun?: boolean;
  update?: boolean;
  diskBytes?: number;
  disk?: string;
  rebootAfter?: number;
  ssh?: SshFlags;
  noDelete?: boolean;
  excludeFrom?: string;
}

export const clone: OperationFns["clone"] = async (ctx, img, req): Promise<CloneResult | UpdateResult> => {
  const r = req as SyscloneCloneRequest;
  if (r.update) return updateNodes(ctx, img, { nodes: r.nodes, dryRun: Boolean(r.dryRun), ssh: r.ssh ?? {}, noDelete: r.noDelete, excludeFrom: r.excludeFrom });
  return cloneNodes(ctx, img, { nodes: r.nodes, dryRun: Boolean(r.dryRun), diskBytes: r.diskBytes, disk: r.disk, waitSeconds: r.rebootAfter ?? 0 });
};
