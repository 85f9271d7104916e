import { join } from "node:path";
import { bootRules } from "./boot-rules";
import type { DhcpModel, HostEntry } from "./model";
import { nextServer } from "./model";

/**
 * ISC dhcpd (legacy; end of life since 2022, still what xCAT writes): a base file with the
 * subnets and boot rules, and static `host` blocks in an include file, as xCAT's dhcp.pm
 * does. `deny unknown-clients` keeps every other MAC out unless a network has a dynamic range
 * (its pool allows them). Option 93 is declared as xCAT declares it.
 */
export const DHCPD = { conf: "dhcpd.conf", hosts: "dhcpd.hosts" } as const;

const hex2 = (n: number) => `${(n >> 8).toString(16).padStart(2, "0")}:${(n & 255).toString(16).padStart(2, "0")}`;

export function dhcpdConf(m: DhcpModel, hostsFile = join(m.dir, DHCPD.hosts)): string {
  const s = m.settings;
  const L: string[] = ["# written by xcimg dhcp -n; rerun it instead of editing (docs/dhcp.md)"];
  L.push("authoritative;", "ddns-update-style none;", `default-lease-time ${s.lease};`, `max-lease-time ${s.lease};`);
  L.push("option client-architecture code 93 = unsigned integer 16;");
  if (!m.networks.some((n) => n.dynamic)) L.push("deny unknown-clients;");
  for (const n of m.networks) {
    const server = nextServer(m, n);
    L.push("", `# ${n.netname}`, `subnet ${n.net} netmask ${n.mask} {`);
    L.push(`  next-server ${server};`);
    if (n.gateway) L.push(`  option routers ${n.gateway};`);
    const dns = n.nameservers.length ? n.nameservers : s.nameservers;
    if (dns.length) L.push(`  option domain-name-servers ${dns.join(", ")};`);
    const domain = n.domain ?? s.domain;
    if (domain) L.push(`  option domain-name "${domain}";`);
    if (n.ntpservers.length) L.push(`  option ntp-servers ${n.ntpservers.join(", ")};`);
    if (n.logservers.length) L.push(`  option log-servers ${n.logservers.join(", ")};`);
    if (n.mtu) L.push(`  option interface-mtu ${n.mtu};`);
    if (n.dynamic) L.push("  pool {", "    allow unknown-clients;", `    range ${n.dynamic[0]} ${n.dynamic[1]};`, "  }");
    let first = true;
    for (const r of bootRules(s, server)) {
      const arch = r.arch.map((a) => `option client-architecture = ${hex2(a)}`).join(" or ");
      const ipxe = 'exists user-class and option user-class = "iPXE"';
      L.push(`  ${first ? "if" : "} elsif"} ((${arch}) and ${r.ipxe ? `(${ipxe})` : `not (${ipxe})`}) {`);
      L.push(`    filename "${r.filename}";`);
      if (r.httpClient) L.push('    option vendor-class-identifier "HTTPClient";');
      first = false;
    }
    L.push("  }", "}");
  }
  L.push("", `include "${hostsFile}";`);
  return `${L.join("\n")}\n`;
}

/** The include file: one host block per MAC, named <node> and <node>-<mac> for extra NICs. */
export function dhcpdHosts(hosts: readonly HostEntry[]): string {
  const L = ["# written by xcimg dhcp; one host block per MAC (xcimg dhcp -q <node> prints them)"];
  for (const h of hosts) {
    const name = h.ip ? h.node : `${h.node}-${h.mac.replaceAll(":", "")}`;
    const fixed = h.ip ? ` fixed-address ${h.ip}; option host-name "${h.hostname}";` : "";
    L.push(`host ${name} { hardware ethernet ${h.mac};${fixed} } # node ${h.node}`);
  }
  return `${L.join("\n")}\n`;
}

const HOST_LINE = /^host (\S+) \{ hardware ethernet ([0-9a-f:]+);(?: fixed-address ([0-9.]+); option host-name "([^"]+)";)? \} # node (\S+)$/;

export function parseDhcpdHosts(text: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const line of text.split("\n")) {
    const m = HOST_LINE.exec(line);
    if (!m) continue;
    const [, , mac = "", ip, hostname, node = ""] = m;
    out.push(ip ? { node, mac, ip, hostname: hostname ?? node } : { node, mac, hostname: node });
  }
  return out;
}
