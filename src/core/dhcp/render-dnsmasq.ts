import { join } from "node:path";
import { bootRules } from "./boot-rules";
import type { DhcpModel, HostEntry } from "./model";
import { nextServer } from "./model";

/**
 * dnsmasq: a standalone DHCP + TFTP instance (DNS off: `port=0`; xCAT's makedns is another
 * job). Reservations live one file per node in a dhcp-hostsdir, which dnsmasq watches with
 * inotify, so adding nodes needs no reload; a removed node needs SIGHUP (dnsmasq(8),
 * --dhcp-hostsdir). Each network is covered by `dhcp-range=<net>,static`: only reserved
 * hosts get an address there; `dhcp-ignore=tag:!known` makes dnsmasq ignore every other MAC
 * unless the network has a dynamicrange.
 */
export const DNSMASQ = { conf: "dnsmasq.conf", hostsdir: "dnsmasq-hosts.d", leases: "dnsmasq.leases" } as const;

export function dnsmasqConf(m: DhcpModel, hostsdir = join(m.dir, DNSMASQ.hostsdir)): string {
  const s = m.settings;
  const L: string[] = ["# written by xcimg dhcp -n; rerun it instead of editing (docs/dhcp.md)", "port=0", "log-dhcp", "dhcp-authoritative"];
  if (s.interfaces.length) {
    for (const i of s.interfaces) L.push(`interface=${i}`);
    L.push("bind-interfaces");
  } else L.push("except-interface=lo", "bind-dynamic");
  L.push(`dhcp-leasefile=${join(m.dir, DNSMASQ.leases)}`);
  L.push("enable-tftp", `tftp-root=${s.tftpdir}`);
  L.push(`dhcp-hostsdir=${hostsdir}`);
  if (!m.networks.some((n) => n.dynamic)) L.push("dhcp-ignore=tag:!known");
  for (const n of m.networks) {
    const tag = `net-${n.netname}`;
    L.push("", `# ${n.netname}: ${n.net}/${n.prefix}`);
    if (m.proxy) {
      // proxyDHCP (PXE spec 2.1 §2.2.5): answers only PXE clients, with boot information only
      L.push(`dhcp-range=set:${tag},${n.net},proxy,${n.mask}`);
      continue;
    }
    L.push(`dhcp-range=set:${tag},${n.net},static,${n.mask},${s.lease}s`);
    if (n.dynamic) L.push(`dhcp-range=set:${tag},${n.dynamic[0]},${n.dynamic[1]},${n.mask},${s.lease}s`);
    if (n.gateway) L.push(`dhcp-option=tag:${tag},option:router,${n.gateway}`);
    const dns = n.nameservers.length ? n.nameservers : s.nameservers;
    if (dns.length) L.push(`dhcp-option=tag:${tag},option:dns-server,${dns.join(",")}`);
    const domain = n.domain ?? s.domain;
    if (domain) L.push(`dhcp-option=tag:${tag},option:domain-name,${domain}`);
    if (n.ntpservers.length) L.push(`dhcp-option=tag:${tag},option:ntp-server,${n.ntpservers.join(",")}`);
    if (n.logservers.length) L.push(`dhcp-option=tag:${tag},option:log-server,${n.logservers.join(",")}`);
    if (n.mtu) L.push(`dhcp-option=tag:${tag},option:mtu,${n.mtu}`);
  }
  if (m.proxy) {
    L.push("", ...proxyBoot(m));
    return `${L.join("\n")}\n`;
  }
  L.push("", "# boot rules per firmware architecture (option 93); iPXE clients send user-class iPXE");
  L.push("dhcp-userclass=set:ipxe,iPXE");
  const arches = [...new Set(bootRules(s).flatMap((r) => r.arch))];
  for (const a of arches) L.push(`dhcp-match=set:arch-${a},option:client-arch,${a}`);
  for (const r of bootRules(s)) if (r.httpClient) for (const a of r.arch) L.push(`dhcp-option-force=tag:arch-${a},option:vendor-class,HTTPClient`);
  for (const n of m.networks) {
    // the last field is siaddr, iPXE's ${next-server}: the network's TFTP server
    const server = nextServer(m, n);
    for (const r of bootRules(s, server)) {
      for (const a of r.arch) L.push(`dhcp-boot=tag:known,tag:net-${n.netname},tag:${r.ipxe ? "" : "!"}ipxe,tag:arch-${a},${r.filename},,${server}`);
    }
  }
  return `${L.join("\n")}\n`;
}

/** A node's file in the hostsdir: one dhcp-host line per MAC (`!*NOIP*` MACs are known, no address). */
export function dnsmasqHostFile(entries: readonly HostEntry[]): string {
  return entries.map((e) => (e.ip ? `${e.mac},${e.ip},${e.hostname}\n` : `${e.mac},set:noip\n`)).join("");
}

/** Back from a hostsdir file to entries (what `dhcp -q` prints). */
export function parseDnsmasqHostFile(node: string, text: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const line of text.split("\n")) {
    const [mac, b, c] = line.trim().split(",");
    if (!mac) continue;
    out.push(b && b !== "set:noip" ? { node, mac, ip: b, hostname: c ?? node } : { node, mac, hostname: node });
  }
  return out;
}

/**
 * proxyDHCP replies carry boot information through pxe-service for PXE ROMs; iPXE, which
 * asks again with user-class iPXE, gets its MAC-chain script through dhcp-boot. A
 * pxe-service file name that has a suffix gets no ".0" layer suffix (dnsmasq(8)).
 */
function proxyBoot(m: DhcpModel): string[] {
  const s = m.settings;
  const L = ["# proxyDHCP boot rules (the site's DHCP server gives the addresses)", "dhcp-userclass=set:ipxe,iPXE"];
  for (const r of bootRules(s)) {
    if (r.ipxe) continue;
    const csa = r.arch.includes(0) ? "x86PC" : r.arch.includes(0x0b) ? "ARM64_EFI" : r.arch.includes(7) ? "X86-64_EFI" : null;
    if (!csa || r.httpClient) continue;
    L.push(`pxe-service=tag:!ipxe,${csa},"xcimg",${r.filename}`);
  }
  L.push(`dhcp-boot=tag:ipxe,${bootRules(s).find((r) => r.ipxe)?.filename}`);
  return L;
}
