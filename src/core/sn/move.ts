import type { Db } from "../db/open";
import { listNodes, readNodes, setNodes } from "../defs/node";
import { NotFoundError, UsageError } from "../errors";
import { serviceNodes, servingSns } from "./served";

/**
 * `xcimg sn move` (xCAT's snmove, snmove.1.pod): the nodes' `noderes.servicenode` becomes the
 * new SN (with its backup: `sn,backup`, xCAT's primary-first pool), and every server attribute
 * that named the SN the node left — `xcatmaster`, `tftpserver`, `nfsserver`, `monserver`,
 * `conserver`, as snmove switches them — names the new one. A node whose `xcatmaster` was
 * empty (a pool: whichever SN answers DHCP serves it) keeps it empty. Nothing is written
 * unless every node can move.
 */
export interface NodeMove {
  node: string;
  /** the SNs that served it (its pool, and its xcatmaster when that named an SN). */
  from: string[];
  /** the new noderes.servicenode. */
  servicenode: string;
  /** the attributes that change, with their new values. */
  set: Record<string, string>;
}

const SWITCHED = ["xcatmaster", "tftpserver", "nfsserver", "monserver", "conserver"] as const;

export function planMove(db: Db, nodes: readonly string[], target: string): NodeMove[] {
  const pool = target
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (pool.length === 0 || pool.length > 2)
    throw new UsageError(`'${target}' is not a service node, or a service node and its backup (sn1 or sn1,sn2)`, { hint: "xcimg sn move rack1 sn2" });
  if (pool.length === 2 && pool[0]?.toLowerCase() === pool[1]?.toLowerCase()) throw new UsageError(`${pool[0]} cannot be its own backup`);
  const sns = serviceNodes(db);
  const unknown = pool.filter((s) => !sns.has(s.toLowerCase()));
  if (unknown.length)
    throw new NotFoundError(`${unknown.join(", ")} is not a service node: not in the servicenode table, and no node's noderes.servicenode names it`, {
      hint: `define it first: xcimg table set servicenode node=${unknown[0]}`,
    });
  const primary = pool[0] as string;
  const servicenode = pool.join(",");
  const serving = servingSns(db, nodes);
  const attrs = readNodes(db, nodes);
  const bad: string[] = [];
  const same: string[] = [];
  const moves: NodeMove[] = [];
  for (const node of nodes) {
    const from = serving.get(node);
    if (!from) {
      bad.push(node);
      continue;
    }
    const a = attrs.get(node) ?? {};
    if ((a.servicenode ?? "").replaceAll(" ", "").toLowerCase() === servicenode.toLowerCase()) {
      same.push(node);
      continue;
    }
    const old = new Set(from.map((s) => s.toLowerCase()));
    const set: Record<string, string> = { servicenode };
    for (const k of SWITCHED) {
      const v = a[k];
      if (v && old.has(v.toLowerCase()) && v.toLowerCase() !== primary.toLowerCase()) set[k] = primary;
    }
    moves.push({ node, from, servicenode, set });
  }
  if (bad.length)
    throw new NotFoundError(
      `${list(bad)} ${bad.length === 1 ? "is" : "are"} served by no service node (noderes.servicenode/xcatmaster name none): nothing to move`,
      {
        hint: "give a node its first service node with 'xcimg node set <noderange> servicenode=<sn>'",
      },
    );
  if (same.length) throw new UsageError(`${list(same)} ${same.length === 1 ? "is" : "are"} already served by ${servicenode}: nothing changed`);
  return moves;
}

/** One transaction: all the nodes move, or none. */
export function applyMove(db: Db, moves: readonly NodeMove[]): void {
  const byNode = new Map(moves.map((m) => [m.node, m.set]));
  setNodes(
    db,
    moves.map((m) => m.node),
    (n) => byNode.get(n) ?? {},
  );
}

/** SN → the moved nodes it must pick up or drop: the old SNs and the new ones all run `sn sync`. */
export function syncsAfterMove(moves: readonly NodeMove[]): Record<string, string[]> {
  const out = new Map<string, Set<string>>();
  const add = (sn: string, node: string) => out.set(sn, (out.get(sn) ?? new Set()).add(node));
  for (const m of moves) for (const sn of [...m.from, ...m.servicenode.split(",")]) add(sn, m.node);
  return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)).map(([sn, s]) => [sn, [...s].sort()]));
}

/** The SNs the moved nodes left that now serve no node at all (their next sync finds nothing to render). */
export function emptiedSns(db: Db, moves: readonly NodeMove[]): Set<string> {
  const left = new Set(moves.flatMap((m) => m.from));
  const still = new Set([...servingSns(db, listNodes(db)).values()].flat().map((s) => s.toLowerCase()));
  return new Set([...left].filter((sn) => !still.has(sn.toLowerCase())));
}

const list = (nodes: readonly string[]) => (nodes.length > 5 ? `${nodes.slice(0, 5).join(", ")} and ${nodes.length - 5} more` : nodes.join(", "));
