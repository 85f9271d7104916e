import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostEntry } from "./model";
import { sortHosts } from "./model";
import { DHCPD, parseDhcpdHosts } from "./render-dhcpd";
import { DNSMASQ, parseDnsmasqHostFile } from "./render-dnsmasq";
import { KEA, parseKeaHosts } from "./render-kea";
import type { Backend } from "./settings";

/**
 * The host entries as the server's configuration has them: the configuration is the record
 * (as with xCAT's makedhcp), so `-q` shows what the server will do, and `-a`/`-d` merge into
 * what is there. dnsmasq reads one file per node; Kea and dhcpd keep them in one file each.
 */
export function readEntries(backend: Backend, dir: string, nodes?: readonly string[]): Map<string, HostEntry[]> {
  const out = new Map<string, HostEntry[]>();
  const wanted = nodes ? new Set(nodes) : null;
  const add = (e: HostEntry) => {
    if (wanted && !wanted.has(e.node)) return;
    const l = out.get(e.node) ?? [];
    l.push(e);
    out.set(e.node, l);
  };
  if (backend === "dnsmasq") {
    const hd = join(dir, DNSMASQ.hostsdir);
    const names = nodes ?? safeList(hd).filter((n) => !n.startsWith(".") && !n.endsWith("~"));
    for (const n of names) {
      const f = join(hd, n);
      if (existsSync(f)) for (const e of parseDnsmasqHostFile(n, readFileSync(f, "utf8"))) add(e);
    }
  } else if (backend === "kea") {
    const f = join(dir, KEA.conf);
    if (existsSync(f)) for (const e of parseKeaHosts(readFileSync(f, "utf8"))) add(e);
  } else {
    const f = join(dir, DHCPD.hosts);
    if (existsSync(f)) for (const e of parseDhcpdHosts(readFileSync(f, "utf8"))) add(e);
  }
  return out;
}

/** Everything in one list, sorted, for the single-file backends. */
export function allEntries(m: Map<string, HostEntry[]>): HostEntry[] {
  return sortHosts([...m.values()].flat());
}

export function baseFile(backend: Backend, dir: string): string {
  return join(dir, backend === "dnsmasq" ? DNSMASQ.conf : backend === "kea" ? KEA.conf : DHCPD.conf);
}

export function ensureDir(d: string): void {
  mkdirSync(d, { recursive: true, mode: 0o755 });
}

function safeList(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
