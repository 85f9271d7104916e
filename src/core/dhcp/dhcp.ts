import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import { listNodes } from "../defs/node";
import { NotFoundError, UsageError } from "../errors";
import { tempNameFor, writeFileAtomic } from "../fs/atomic";
import { checkOrDiscard, commit, type Staged, stage } from "./activate";
import { type BackendInfo, chooseBackend } from "./backend";
import { type LoadersResult, publishDhcpLoaders } from "./loaders";
import { MacLinks } from "./mac-links";
import { type DhcpModel, type HostEntry, networkOf, sortHosts } from "./model";
import { type Network, readNetworks } from "./networks";
import { keaSocketReload } from "./reload";
import { DHCPD, dhcpdConf, dhcpdHosts } from "./render-dhcpd";
import { DNSMASQ, dnsmasqConf, dnsmasqHostFile } from "./render-dnsmasq";
import { keaConf } from "./render-kea";
import { nodeReservations } from "./reservations";
import { dhcpSettings } from "./settings";
import { allEntries, baseFile, ensureDir, readEntries } from "./store";

/**
 * xCAT's makedhcp for one of three servers: -n (base configuration), -a / <noderange>
 * (reservations), -d (remove), -q (query). Every write goes through activate.ts (checked by
 * the server's own tool, then renamed into place); the reload the server needs is returned,
 * and run only when asked (--reload).
 */
export interface DhcpOutcome {
  backend: string;
  written: string[];
  /** node → its entries as now configured. */
  nodes: Record<string, HostEntry[]>;
  failed: Record<string, string>;
  reload: string | null;
  loaders?: LoadersResult;
}

interface Env {
  model: DhcpModel;
  info: BackendInfo;
  binary: string;
  links: MacLinks;
  /** config dhcp.reload, which replaces the backend's own reload command. */
  reloadCmd: string | null;
}

/**
 * Which subnets this server declares. A service node (core/sn/dhcp.ts, xCAT's disjointdhcps)
 * keeps only the networks it serves; the management node takes them all.
 */
export interface DhcpScope {
  networks?: (all: Network[]) => Network[];
}

function env(ctx: Context, opts: { proxy?: boolean } & DhcpScope = {}): Env {
  const db = ctx.db();
  const settings = dhcpSettings(db, ctx.config);
  const { info, binary } = chooseBackend(settings.backend, ctx.env);
  const all = readNetworks(db);
  const model: DhcpModel = { settings, networks: opts.networks ? opts.networks(all) : all, hosts: [], dir: ctx.config["dhcp.dir"], proxy: opts.proxy };
  return { model, info, binary, links: new MacLinks(settings.tftpdir), reloadCmd: ctx.config["dhcp.reload"] || null };
}

/** The reload a change needs: none (dnsmasq's additions), config dhcp.reload, Kea's config-reload where its socket is configured, or the backend's own. */
function reloadFor(e: Env, change: "base" | "added" | "removed"): string | null {
  if (e.info.reload(change) === null) return null;
  if (e.reloadCmd) return e.reloadCmd;
  const socket = e.info.name === "kea" ? e.model.settings.controlSocket : undefined;
  return socket ? keaSocketReload(socket) : e.info.reload(change);
}

/** `dhcp -n`: the base configuration, the first-stage loaders and the MAC-chain scripts. */
export function dhcpBase(ctx: Context, opts: { proxy?: boolean } & DhcpScope = {}): DhcpOutcome {
  const e = env(ctx, opts);
  if (opts.proxy && e.info.name !== "dnsmasq")
    throw new UsageError(`--proxy is dnsmasq's proxyDHCP mode; site.dhcpbackend is ${e.info.name}`, {
      hint: "set site.dhcpbackend=dnsmasq, or give your DHCP server the options docs/dhcp.md lists",
    });
  const m = e.model;
  ensureDir(m.dir);
  const file = baseFile(e.info.name, m.dir);
  let staged: (Staged | null)[];
  if (e.info.name === "dnsmasq") {
    ensureDir(join(m.dir, DNSMASQ.hostsdir));
    staged = [stage(file, dnsmasqConf(m))];
  } else if (e.info.name === "kea") {
    staged = [stage(file, keaConf({ ...m, hosts: keptEntries(m, allEntries(readEntries("kea", m.dir))) }))];
  } else {
    const hosts = join(m.dir, DHCPD.hosts);
    staged = [stage(hosts, existsSync(hosts) ? readFileSync(hosts, "utf8") : dhcpdHosts([])), stage(file, dhcpdConf(m))];
  }
  checkStaged(e, staged);
  const written = commit(staged);
  const loaders = publishDhcpLoaders(m.settings);
  return { backend: e.info.name, written, nodes: {}, failed: {}, reload: written.length ? reloadFor(e, "base") : null, loaders };
}

/** `dhcp <noderange>` / `dhcp -a`: write the nodes' reservations; the others stay. */
export function dhcpAdd(ctx: Context, nodes: readonly string[] | "all", scope: DhcpScope = {}): DhcpOutcome {
  const e = env(ctx, scope);
  const m = e.model;
  requireBase(e);
  const names = nodes === "all" ? listNodes(ctx.db()) : nodes;
  const res = nodeReservations(ctx.db(), names, m.networks);
  const byNode = new Map<string, HostEntry[]>();
  for (const r of res.reservations) {
    const l = byNode.get(r.node) ?? [];
    l.push({ node: r.node, mac: r.mac, ip: r.ip, hostname: r.hostname });
    byNode.set(r.node, l);
  }
  const current = e.info.name === "dnsmasq" ? readEntries("dnsmasq", m.dir) : readEntries(e.info.name, m.dir);
  conflicts(byNode, current, res.failed);
  const out: DhcpOutcome = { backend: e.info.name, written: [], nodes: Object.fromEntries(byNode), failed: res.failed, reload: null };
  if (byNode.size === 0) return out;
  const merged = new Map(current);
  for (const [n, l] of byNode) merged.set(n, l);
  out.written = writeHosts(e, merged, [...byNode.keys()]);
  for (const [n, l] of byNode) e.links.set(n, l);
  const removedSome = [...byNode].some(([n, l]) => (current.get(n) ?? []).some((c) => !l.some((x) => x.mac === c.mac && x.ip === c.ip)));
  if (out.written.length) out.reload = reloadFor(e, e.info.name === "dnsmasq" && !removedSome ? "added" : "removed");
  return out;
}

/** `dhcp -d <noderange>`: forget the nodes; the server then ignores their MACs. */
export function dhcpRemove(ctx: Context, nodes: readonly string[], scope: DhcpScope = {}): DhcpOutcome {
  const e = env(ctx, scope);
  requireBase(e);
  const current = readEntries(e.info.name, e.model.dir);
  const gone = nodes.filter((n) => current.has(n));
  const merged = new Map(current);
  for (const n of gone) merged.delete(n);
  const out: DhcpOutcome = { backend: e.info.name, written: [], nodes: {}, failed: {}, reload: null };
  if (e.info.name === "dnsmasq") {
    for (const n of gone) {
      const f = join(e.model.dir, DNSMASQ.hostsdir, n);
      rmSync(f, { force: true });
      out.written.push(f);
    }
  } else if (gone.length) out.written = writeHosts(e, merged, []);
  for (const n of nodes) e.links.remove(n);
  if (gone.length) out.reload = reloadFor(e, "removed");
  return out;
}

/** `dhcp -q <noderange>`: each node's entries as the server's configuration has them. */
export function dhcpQuery(ctx: Context, nodes: readonly string[] | "all"): DhcpOutcome {
  const e = env(ctx);
  const current = readEntries(e.info.name, e.model.dir, nodes === "all" ? undefined : nodes);
  const failed: Record<string, string> = {};
  if (nodes !== "all") for (const n of nodes) if (!current.has(n)) failed[n] = "not in the DHCP configuration (xcimg dhcp <node> adds it)";
  return { backend: e.info.name, written: [], nodes: Object.fromEntries([...current].sort(([a], [b]) => (a < b ? -1 : 1))), failed, reload: null };
}

function requireBase(e: Env): void {
  if (!existsSync(baseFile(e.info.name, e.model.dir))) {
    throw new NotFoundError(`no ${e.info.name} base configuration in ${e.model.dir}`, {
      hint: "run 'xcimg dhcp -n' first (it writes the networks' configuration)",
    });
  }
}

/** A MAC or address already reserved for another node fails the newcomer, not the holder. */
function conflicts(byNode: Map<string, HostEntry[]>, current: Map<string, HostEntry[]>, failed: Record<string, string>): void {
  const owner = new Map<string, string>();
  for (const [n, l] of current) if (!byNode.has(n)) for (const h of l) for (const k of [h.mac, h.ip]) if (k) owner.set(k, n);
  for (const [n, l] of [...byNode].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const clash = l.flatMap((h) => [h.mac, h.ip]).find((k) => k && owner.has(k) && owner.get(k) !== n);
    if (clash) {
      failed[n] = `${clash} is already reserved for ${owner.get(clash)}`;
      byNode.delete(n);
      continue;
    }
    for (const h of l) for (const k of [h.mac, h.ip]) if (k) owner.set(k, n);
  }
}

/** Entries whose address is still in a configured network (after a networks change). */
function keptEntries(m: DhcpModel, entries: HostEntry[]): HostEntry[] {
  return entries.filter((h) => !h.ip || networkOf(m.networks, h.ip));
}

/** Stage, check and commit the host entries; `changed` are the nodes whose dnsmasq files to rewrite. */
function writeHosts(e: Env, merged: Map<string, HostEntry[]>, changed: readonly string[]): string[] {
  const m = e.model;
  if (e.info.name === "dnsmasq") {
    const hd = join(m.dir, DNSMASQ.hostsdir);
    ensureDir(hd);
    const staged = changed.map((n) => stage(join(hd, n), dnsmasqHostFile(merged.get(n) ?? []), { fsync: false }));
    // dnsmasq --test does not read a hostsdir: check the same lines as dhcp-host= options
    const lines = staged
      .filter((s): s is Staged => s !== null)
      .flatMap((s) =>
        s.text
          .split("\n")
          .filter(Boolean)
          .map((l) => `dhcp-host=${l}`),
      );
    if (lines.length) {
      const probe = tempNameFor(join(m.dir, "dnsmasq-hosts-check.conf"));
      writeFileAtomic(probe, `port=0\n${lines.join("\n")}\n`);
      try {
        checkOrDiscard(e.info.check(e.binary, probe), staged, "the new host entries");
      } finally {
        rmSync(probe, { force: true });
      }
    }
    return commit(staged, { backup: false });
  }
  const hosts = sortHosts(keptEntries(m, allEntries(merged)));
  if (e.info.name === "kea") {
    const staged = [stage(baseFile("kea", m.dir), keaConf({ ...m, hosts }))];
    checkStaged(e, staged);
    return commit(staged);
  }
  const staged = [stage(join(m.dir, DHCPD.hosts), dhcpdHosts(hosts))];
  checkStaged(e, staged);
  return commit(staged);
}

/** Run the checker on what is staged; dhcpd's base file is checked with the staged include. */
function checkStaged(e: Env, staged: (Staged | null)[]): void {
  if (staged.every((s) => s === null)) return;
  const m = e.model;
  const base = baseFile(e.info.name, m.dir);
  if (e.info.name !== "dhcpd") {
    const s = staged.find((x) => x?.path === base);
    checkOrDiscard(e.info.check(e.binary, s ? s.temp : base), staged, `the new ${e.info.name} configuration`);
    return;
  }
  const hostsPath = join(m.dir, DHCPD.hosts);
  const hostsTemp = staged.find((x) => x?.path === hostsPath)?.temp ?? hostsPath;
  const baseText = staged.find((x) => x?.path === base)?.text ?? readFileSync(base, "utf8");
  const probe = tempNameFor(base);
  writeFileAtomic(probe, baseText.replace(`include "${hostsPath}";`, `include "${hostsTemp}";`));
  try {
    checkOrDiscard(e.info.check(e.binary, probe), staged, "the new dhcpd configuration");
  } finally {
    rmSync(probe, { force: true });
  }
}
