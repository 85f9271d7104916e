import { bootRules } from "./boot-rules";
import type { DhcpModel, HostEntry } from "./model";
import { networkOf, nextServer } from "./model";
import { ipToInt } from "./values";

/**
 * Kea 2.2+ (kea-dhcp4): one JSON file, reservations inside their subnet (Kea has no
 * directory of host files, so every change rewrites the file and Kea reloads it on SIGHUP or,
 * with site.dhcpcontrolsocket, on `config-reload` over its control socket: reload.ts). Without a pool Kea leases nothing to unknown clients; reserved addresses
 * outside pools are still handed out. Boot rules are client classes on option 93 and
 * user-class (option 77); subnet ids are the network address, stable across rewrites.
 */
export const KEA = { conf: "kea-dhcp4.conf" } as const;

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

export function keaConf(m: DhcpModel): string {
  const s = m.settings;
  const classes: Record<string, unknown>[] = [];
  const subnets: Record<string, unknown>[] = [];
  // classes are global in Kea: the rules use TFTP names (next-server is per subnet), and the
  // one URL rule (UEFI HTTP boot) points at the management node
  for (const r of bootRules(s)) {
    {
      const arch = r.arch.map((a) => `option[93].hex == ${hex4(a)}`).join(" or ");
      const ipxe = "option[77].hex == 'iPXE'";
      const c: Record<string, unknown> = {
        name: `xcimg-${r.name}`,
        // a class that tests KNOWN is evaluated after the host reservation lookup (Kea ARM, "Classification")
        test: `member('KNOWN') and (${arch}) and ${r.ipxe ? ipxe : `not (${ipxe})`}`,
        "boot-file-name": r.filename,
      };
      if (r.httpClient) c["option-data"] = [{ name: "vendor-class-identifier", data: "HTTPClient" }];
      classes.push(c);
    }
  }
  for (const n of m.networks) {
    const server = nextServer(m, n);
    const opts: { name: string; data: string }[] = [];
    if (n.gateway) opts.push({ name: "routers", data: n.gateway });
    const dns = n.nameservers.length ? n.nameservers : s.nameservers;
    if (dns.length) opts.push({ name: "domain-name-servers", data: dns.join(", ") });
    const domain = n.domain ?? s.domain;
    if (domain) opts.push({ name: "domain-name", data: domain });
    if (n.ntpservers.length) opts.push({ name: "ntp-servers", data: n.ntpservers.join(", ") });
    if (n.logservers.length) opts.push({ name: "log-servers", data: n.logservers.join(", ") });
    if (n.mtu) opts.push({ name: "interface-mtu", data: String(n.mtu) });
    const hosts = m.hosts.filter((h) => h.ip && networkOf(m.networks, h.ip) === n);
    const sub: Record<string, unknown> = {
      id: Math.max(1, ipToInt(n.net) >>> 0),
      subnet: `${n.net}/${n.prefix}`,
      "next-server": server,
      "option-data": opts,
      pools: n.dynamic ? [{ pool: `${n.dynamic[0]} - ${n.dynamic[1]}` }] : [],
      reservations: hosts.map((h) => ({ "hw-address": h.mac, "ip-address": h.ip, hostname: h.hostname })),
    };
    if (n.mgtifname && s.interfaces.includes(n.mgtifname)) sub.interface = n.mgtifname;
    subnets.push(sub);
  }
  const conf = {
    Dhcp4: {
      "interfaces-config": { interfaces: s.interfaces.length ? s.interfaces : ["*"] },
      "valid-lifetime": s.lease,
      authoritative: true,
      "host-reservation-identifiers": ["hw-address"],
      ...(s.controlSocket ? { "control-socket": { "socket-type": "unix", "socket-name": s.controlSocket } } : {}),
      "client-classes": classes,
      subnet4: subnets,
    },
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

/** Back from the file to entries (`dhcp -q`), by hostname = node. `!*NOIP*` MACs have no place in Kea's reservations. */
export function parseKeaHosts(text: string): HostEntry[] {
  const conf = JSON.parse(text) as { Dhcp4?: { subnet4?: { reservations?: { "hw-address"?: string; "ip-address"?: string; hostname?: string }[] }[] } };
  const out: HostEntry[] = [];
  for (const sub of conf.Dhcp4?.subnet4 ?? []) {
    for (const r of sub.reservations ?? []) {
      if (!r.hostname || !r["hw-address"]) continue;
      out.push({ node: r.hostname, mac: r["hw-address"], ip: r["ip-address"], hostname: r.hostname });
    }
  }
  return out;
}
