import { siteSettings } from "../boot/site";
import type { Db } from "../db/open";
import { bySn, servingSns } from "./served";

/**
 * Which of the nodes a boot-file writer on the MN (`boot`, `clone`) must leave to their
 * service node: every node an SN serves, unless site.sharedtftp says the SNs mount this
 * tftpdir (xCAT's shared mode). Those nodes get their rows and host keys only; the SN's
 * `sn sync` renders their files (docs/service-nodes.md).
 */
export interface SnPartition {
  /** node → the SNs that serve it. */
  serving: Map<string, string[]>;
  /** the nodes whose files are the SNs'. */
  rowsOnly: Set<string>;
}

export function snPartition(db: Db, nodes: readonly string[]): SnPartition {
  const serving = servingSns(db, nodes);
  return { serving, rowsOnly: siteSettings(db).sharedTftp ? new Set<string>() : new Set(serving.keys()) };
}

/** What to tell the admin after the write: SN → nodes to pick up, and a line per deferred node. */
export function snReport(p: SnPartition, written: readonly string[], deferred: readonly string[]): { snSync: Record<string, string[]>; lines: string[] } {
  return {
    snSync: bySn(p.serving, [...written, ...deferred]),
    lines: deferred.map((n) => `${n}: boot files left to service node ${(p.serving.get(n) ?? []).join(",")}`),
  };
}
