import { leaf, output } from "../cli/command";
import { listNodes } from "../core/defs/node";
import { type DhcpOutcome, dhcpAdd, dhcpBase, dhcpQuery, dhcpRemove } from "../core/dhcp/dhcp";
import { runReload } from "../core/dhcp/reload";
import { ExitCode, UsageError } from "../core/errors";
import { dbNodeSource } from "../core/noderange/db-source";
import { expandNoderange } from "../core/noderange/index";
import { mnDhcpNodes } from "../core/sn/dhcp";

export default leaf({
  name: "dhcp",
  description: "write the DHCP server's configuration for the networks and nodes (xCAT makedhcp)",
  args: {
    noderange: { type: "positional", required: false, description: "nodes, in xCAT noderange syntax" },
    networks: {
      type: "boolean",
      alias: "n",
      description: "write the base configuration for the networks table, the first-stage loaders and the MAC-chain scripts",
    },
    all: { type: "boolean", alias: "a", description: "write the reservations of every defined node" },
    delete: { type: "boolean", alias: "d", description: "remove the nodes' reservations" },
    query: { type: "boolean", alias: "q", description: "print the nodes' reservations as the server's configuration has them" },
    proxy: { type: "boolean", description: "with -n: dnsmasq proxyDHCP (boot information only; the site's DHCP server gives addresses)" },
    reload: { type: "boolean", description: "run the reload the server needs after a change (default: print it)" },
  },
  examples: [
    "xcimg table set networks net=10.0.0.0,mask=255.255.255.0 netname=mgmt gateway=10.0.0.254 mgtifname=eth1",
    "xcimg dhcp -n                 # base configuration (site.dhcpbackend: dnsmasq, kea, dhcpd or auto)",
    "xcimg dhcp -a                 # every node with a mac and hosts.ip",
    "xcimg dhcp cn[001-128] --reload",
    "xcimg dhcp -d cn017",
    "xcimg dhcp -q cn001",
  ],
  async run(ctx, args) {
    const modes = [args.networks, args.all, args.delete, args.query].filter(Boolean).length;
    if (args.delete && args.query) throw new UsageError("-d and -q exclude each other");
    if (args.proxy && !args.networks) throw new UsageError("--proxy goes with -n");
    if (args.all && args.noderange) throw new UsageError("-a and a noderange exclude each other");
    if (modes === 0 && !args.noderange) throw new UsageError("give a noderange, -a or -n", { hint: "see 'xcimg dhcp --help'" });
    if ((args.delete || (args.query && !args.all)) && !args.noderange) throw new UsageError(`${args.delete ? "-d" : "-q"} needs a noderange (or -a)`);
    const nodes = () => (args.noderange ? expandNoderange(args.noderange, dbNodeSource(ctx.db()), { env: ctx.env }) : ("all" as const));
    const results: DhcpOutcome[] = [];
    let snNodes: Record<string, string[]> = {};
    if (args.query) {
      const r = dhcpQuery(ctx, nodes());
      for (const [n, reason] of Object.entries(r.failed)) ctx.log.error(`${n}: ${reason}`);
      const lines = Object.values(r.nodes).flatMap((l) => l.map((h) => `${h.node}: ${h.mac}${h.ip ? ` ${h.ip} ${h.hostname}` : " (no fixed address)"}`));
      return output(r, lines, Object.keys(r.failed).length ? ExitCode.PARTIAL : ExitCode.OK);
    }
    if (args.networks) results.push(dhcpBase(ctx, { proxy: args.proxy }));
    if (args.delete) {
      const list = nodes();
      results.push(dhcpRemove(ctx, list === "all" ? [] : list));
    } else if (args.all || args.noderange) {
      const list = nodes();
      // site.disjointdhcps=1: nodes behind a service node get their entries from that SN's sn sync
      const { kept, leftToSn } = mnDhcpNodes(ctx.db(), list === "all" ? listNodes(ctx.db()) : list);
      snNodes = leftToSn;
      for (const [sn, l] of Object.entries(leftToSn)) ctx.log.info(`${sn}: DHCP for ${l.join(",")} is left to it (site.disjointdhcps)`);
      results.push(dhcpAdd(ctx, kept));
    }
    const lines: string[] = [];
    const failed: Record<string, string> = {};
    const reloads = new Set<string>();
    for (const r of results) {
      for (const w of r.written) ctx.log.info(`wrote ${w}`);
      for (const [name, how] of Object.entries(r.loaders?.missing ?? {})) ctx.log.warn(`${name} is missing: ${how}`);
      for (const [name, how] of Object.entries(r.loaders?.missingArm64 ?? {})) ctx.log.info(`${name} (arm64 UEFI clients) is missing: ${how}`);
      for (const f of r.loaders?.kept ?? []) ctx.log.warn(`${f} was not written by xcimg: left as it is`);
      for (const [n, l] of Object.entries(r.nodes)) for (const h of l) lines.push(`${n}: ${h.mac}${h.ip ? ` ${h.ip}` : " (no fixed address)"}`);
      Object.assign(failed, r.failed);
      if (r.reload) reloads.add(r.reload);
    }
    if (args.delete) for (const n of results.at(-1)?.written ?? []) lines.push(`removed ${n}`);
    for (const [n, reason] of Object.entries(failed)) ctx.log.error(`${n}: ${reason}`);
    for (const cmd of reloads) {
      if (args.reload) await runReload(cmd);
      else ctx.log.info(`the server needs: ${cmd}   (or rerun with --reload)`);
    }
    const data = { results, failed, reload: [...reloads], reloaded: args.reload && reloads.size > 0, leftToSn: snNodes };
    return output(data, lines, Object.keys(failed).length ? ExitCode.PARTIAL : ExitCode.OK);
  },
});
