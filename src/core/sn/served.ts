import { hostname } from "node:os";
import type { Db } from "../db/open";
import { allRows, isDisabled } from "../db/rows";
import { listNodes, readNodes } from "../defs/node";
import { NotFoundError } from "../errors";
import { isProvMethodName } from "../provmethod/names";

/**
 * Which nodes a service node serves, as xCAT decides it (xCAT's `xCAT::ServiceNodeUtils`
 * getSNList/get_ServiceNode): `noderes.servicenode` is the SN (or a comma-separated pool,
 * primary first) that manages the node, `noderes.xcatmaster` the name the node itself uses for
 * its server. A node is this SN's when either names it — a pool lists several SNs and each of
 * them serves the node, which is what lets a pool member take over. Values are effective ones
 * (own row, else a group's, regex values computed), as every xCAT attribute.
 */
export interface ServedNodes {
  /** The names this SN answered to. */
  names: string[];
  /** node → the image it boots (nodetype.provmethod naming an osimage). */
  nodes: Map<string, string>;
  /** Served nodes that name no image: reported, not rendered. */
  noImage: string[];
}

/** This SN's names: --sn/sn.name (comma list) else its host name, short and full. */
export function snNames(given: string): string[] {
  const list = given
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length) return list;
  const h = hostname();
  return [...new Set([h, h.split(".")[0] as string])];
}

export function servedNodes(db: Db, names: readonly string[]): ServedNodes {
  const mine = new Set(names.map((n) => n.toLowerCase()));
  const all = listNodes(db);
  const attrs = readNodes(db, all);
  const nodes = new Map<string, string>();
  const noImage: string[] = [];
  for (const node of all) {
    const a = attrs.get(node) ?? {};
    const pool = (a.servicenode ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const served = pool.some((s) => mine.has(s)) || (a.xcatmaster !== undefined && mine.has(a.xcatmaster.toLowerCase()));
    if (!served) continue;
    const img = a.provmethod;
    if (!img || isProvMethodName(img)) noImage.push(node);
    else nodes.set(node, img);
  }
  if (nodes.size === 0 && noImage.length === 0) {
    throw new NotFoundError(`no node names this service node (${names.join(", ")}) in noderes.servicenode or noderes.xcatmaster on the management node`, {
      hint: "set it on the management node ('xcimg node set <noderange> servicenode=<sn>'), or give this SN's name with --sn / XCIMG_SN_NAME",
    });
  }
  return { names: [...names], nodes, noImage };
}

/**
 * The nodes this SN serves (servedNodes). None at all is an error (exit 66: a wrong name, or
 * nodes not set up yet), and nothing changes — unless earlier syncs left nodes here (`before`,
 * from its record, served-record.ts): `sn move` took them all away. Then the error says so,
 * and with `prune` the sync goes on with no node, so that the stale report and the prune
 * withdraw their boot files and images (and the DHCP render their entries). Without it they
 * stay: a mistaken sn.name must not empty a working SN.
 */
export function servedOrEmptied(db: Db, names: readonly string[], before: readonly string[], prune: boolean, warn: (m: string) => void): ServedNodes {
  try {
    return servedNodes(db, names);
  } catch (e) {
    if (!(e instanceof NotFoundError) || before.length === 0) throw e;
    if (!prune)
      throw new NotFoundError(
        `${e.message}; earlier syncs left the boot files of ${before.length} node(s) here (${before.slice(0, 5).join(", ")}${before.length > 5 ? ", ..." : ""})`,
        {
          hint: "if they moved to another SN for good, 'xcimg sn sync --prune' withdraws their boot files, DHCP entries and images here",
        },
      );
    warn(`no node names this SN any more (${names.join(", ")}): withdrawing what earlier syncs left for ${before.length} node(s)`);
    return { names: [...names], nodes: new Map(), noImage: [] };
  }
}

/** image → its nodes, sorted. */
export function imagesOf(served: ServedNodes): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [node, img] of served.nodes) {
    const list = out.get(img) ?? [];
    list.push(node);
    out.set(img, list);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The service nodes as xCAT knows them (xCAT::ServiceNodeUtils isServiceNode/getAllSN): a
 * node listed in the `servicenode` table, or named by some node's effective
 * `noderes.servicenode` (each member of a pool). Lower-cased name → the name as written.
 */
export function serviceNodes(db: Db): Map<string, string> {
  const sns = new Map<string, string>();
  const add = (n: string) => {
    const t = n.trim();
    if (t && !sns.has(t.toLowerCase())) sns.set(t.toLowerCase(), t);
  };
  for (const r of allRows(db, "servicenode")) if (!isDisabled(r)) add(String(r.node ?? ""));
  // a site without service nodes has no servicenode value in any noderes row, node's or group's:
  // then nobody's effective value names one, and 10,000 nodes' attributes need not be read
  // (`xcimg boot` asks on every run)
  if (sns.size === 0 && !db.get("SELECT 1 AS x FROM noderes WHERE servicenode IS NOT NULL AND servicenode <> '' LIMIT 1")) return sns;
  const all = listNodes(db);
  for (const a of readNodes(db, all).values()) for (const s of (a.servicenode ?? "").split(",")) add(s);
  return sns;
}

/**
 * node → the service nodes that serve it (an SN of its pool, or its xcatmaster when that names
 * an SN: xcatmaster may as well be the MN itself), for the given nodes. Nodes served by none
 * are left out.
 */
export function servingSns(db: Db, nodes: readonly string[]): Map<string, string[]> {
  const sns = serviceNodes(db);
  const out = new Map<string, string[]>();
  if (sns.size === 0) return out;
  const attrs = readNodes(db, nodes);
  for (const node of nodes) {
    const a = attrs.get(node);
    if (!a) continue;
    const names = [...(a.servicenode ?? "").split(","), a.xcatmaster ?? ""].map((s) => s.trim().toLowerCase()).filter((s) => sns.has(s));
    const list = [...new Set(names)].map((s) => sns.get(s) as string);
    if (list.length) out.set(node, list);
  }
  return out;
}

/** SN → the given nodes it serves, sorted: what `sn sync` on each must pick up. */
export function bySn(serving: ReadonlyMap<string, readonly string[]>, nodes: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of nodes) {
    for (const sn of serving.get(n) ?? []) {
      out[sn] = out[sn] ?? [];
      out[sn].push(n);
    }
  }
  for (const list of Object.values(out)) list.sort();
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
