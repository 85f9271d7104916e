import type { Context } from "../context";
import type { Db } from "../db/open";
import { allRows, isDisabled } from "../db/rows";
import { listNodes, readNodes } from "../defs/node";
import { chooseBackend } from "../dhcp/backend";
import { type DhcpOutcome, dhcpAdd, dhcpBase, dhcpRemove } from "../dhcp/dhcp";
import { type Network, readNetworks } from "../dhcp/networks";
import { dhcpSettings } from "../dhcp/settings";
import { readEntries } from "../dhcp/store";
import { inSubnet, isIpv4 } from "../dhcp/values";
import { bySn, servingSns } from "./served";

/**
 * DHCP on a service node, as xCAT's AAsn.pm sets it up: only when the SN's `servicenode` row
 * says `dhcpserver=1` ("If 1, runs makedhcp -n. If 0, it does not change the current state of
 * the service", Schema.pm), then `makedhcp -n` and `makedhcp -a`, or with
 * `site.disjointdhcps=1` only the nodes this SN serves ("the .leases file on a service node
 * only contains the nodes it manages", site table doc; the default 0 "include[s] all the nodes
 * in the subnet").
 *
 * The subnets: xCAT's SN declares the networks on its own interfaces, and a network whose
 * `networks.dhcpserver` names another server is that server's (pools: "networks.dhcpserver
 * set to one pool member", hierarchy docs). xcimg's SN does not read its interfaces (its
 * config `master` is the address its nodes reach), so it takes the networks whose
 * `dhcpserver` names it, plus those without a `dhcpserver` that hold one of its nodes'
 * hosts.ip addresses. In each, next-server and the boot URLs are this SN (config `master`):
 * `networks.tftpserver` left empty or `<xcatmaster>` means "the node's server" in xCAT.
 */
export interface SnDhcpPlan {
  /** Why no DHCP is written here; the plan's other fields are then empty. */
  skipped?: string;
  disjoint: boolean;
  /** netnames, sorted by address. */
  networks: string[];
  /** the nodes whose reservations this SN writes. */
  nodes: string[];
}

const YES = /^(1|yes|y|true)$/i;

export function planSnDhcp(db: Db, names: readonly string[], served: readonly string[], master: string): SnDhcpPlan {
  const mine = new Set([...names, master].map((n) => n.toLowerCase()));
  const row = allRows(db, "servicenode").find((r) => !isDisabled(r) && mine.has(String(r.node ?? "").toLowerCase()));
  const disjoint = YES.test(site(db, "disjointdhcps"));
  const none = (skipped: string): SnDhcpPlan => ({ skipped, disjoint, networks: [], nodes: [] });
  if (!row) return none(`no servicenode row for ${names.join(",")} on the management node: DHCP is left as it is`);
  if (!YES.test(row.dhcpserver ?? "")) return none(`servicenode.dhcpserver is not set for ${row.node}: DHCP is left as it is`);
  const nets = snNetworks(db, mine, served);
  if (nets.length === 0) return none("no network of the networks table is this SN's (networks.dhcpserver, or one holding its nodes' addresses)");
  const inMine = (ip: string | undefined) => ip !== undefined && isIpv4(ip) && nets.some((n) => inSubnet(ip, n.net, n.prefix));
  let nodes: string[];
  // a served node in another server's network is that server's; one without an address stays, for dhcp's own message
  if (disjoint) {
    const attrs = readNodes(db, [...served]);
    nodes = served.filter((n) => !isIpv4(attrs.get(n)?.ip ?? "") || inMine(attrs.get(n)?.ip));
  } else {
    const all = listNodes(db);
    const attrs = readNodes(db, all);
    nodes = all.filter((n) => inMine(attrs.get(n)?.ip));
  }
  return { disjoint, networks: nets.map((n) => n.netname), nodes: nodes.sort() };
}

/** The networks this SN declares, with next-server this SN unless the row names one. */
function snNetworks(db: Db, mine: ReadonlySet<string>, served: readonly string[]): Network[] {
  const dhcpserver = new Map<string, string>();
  for (const r of allRows(db, "networks")) if (!isDisabled(r) && r.net) dhcpserver.set(r.net, (r.dhcpserver ?? "").toLowerCase());
  const attrs = readNodes(db, [...served]);
  const addrs = served.map((n) => attrs.get(n)?.ip).filter((ip): ip is string => ip !== undefined && isIpv4(ip));
  return readNetworks(db).filter((n) => {
    const d = dhcpserver.get(n.net) ?? "";
    if (d) return mine.has(d);
    return addrs.some((ip) => inSubnet(ip, n.net, n.prefix));
  });
}

function site(db: Db, key: string): string {
  return (allRows(db, "site").find((r) => r.key === key && !isDisabled(r))?.value ?? "").trim();
}

export interface SnDhcpResult {
  plan: SnDhcpPlan;
  backend?: string;
  written: string[];
  /** Entries of nodes this SN no longer answers for. */
  removed: string[];
  failed: Record<string, string>;
  reload: string[];
  /** loader name → what to install. */
  missing: Record<string, string>;
}

/**
 * `makedhcp -n` then `-a` for the plan, each validated by the server's own checker and
 * renamed into place (core/dhcp/activate.ts); a node that no longer belongs here loses its
 * entry. A failed check throws before anything of that step is activated.
 */
export function renderSnDhcp(ctx: Context, plan: SnDhcpPlan): SnDhcpResult {
  const out: SnDhcpResult = { plan, written: [], removed: [], failed: {}, reload: [], missing: {} };
  if (plan.skipped) return out;
  const wanted = new Set(plan.networks);
  const scope = { networks: (all: Network[]) => all.filter((n) => wanted.has(n.netname)) };
  const reloads = new Set<string>();
  const take = (r: DhcpOutcome) => {
    out.backend = r.backend;
    out.written.push(...r.written);
    Object.assign(out.failed, r.failed);
    Object.assign(out.missing, r.loaders?.missing ?? {});
    if (r.reload) reloads.add(r.reload);
  };
  take(dhcpBase(ctx, scope));
  const { info } = chooseBackend(dhcpSettings(ctx.db(), ctx.config).backend, ctx.env);
  const keep = new Set(plan.nodes);
  const stale = [...readEntries(info.name, ctx.config["dhcp.dir"]).keys()].filter((n) => !keep.has(n)).sort();
  if (stale.length) {
    take(dhcpRemove(ctx, stale, scope));
    out.removed = stale;
  }
  if (plan.nodes.length) take(dhcpAdd(ctx, plan.nodes, scope));
  out.reload = [...reloads];
  return out;
}

/**
 * On the management node with `site.disjointdhcps=1`: the nodes behind a service node are
 * that SN's to answer (its `sn sync` writes their entries), so `xcimg dhcp -a`/<noderange>
 * leaves them out. Without the key every server lists every node, as in xCAT.
 */
export function mnDhcpNodes(db: Db, nodes: readonly string[]): { kept: string[]; leftToSn: Record<string, string[]> } {
  if (!YES.test(site(db, "disjointdhcps"))) return { kept: [...nodes], leftToSn: {} };
  const serving = servingSns(db, nodes);
  return { kept: nodes.filter((n) => !serving.has(n)), leftToSn: bySn(serving, nodes) };
}
