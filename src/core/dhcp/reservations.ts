import type { Db } from "../db/open";
import { readNodes } from "../defs/node";
import type { Attrs } from "../defs/object";
import type { Network } from "./networks";
import { inSubnet, isHostname, isIpv4, isMac, normMac, printableValue } from "./values";

/**
 * One MAC the DHCP server knows: the node's name as its host name, the hosts.ip address
 * (xCAT's regular-expression values already computed per node by readNodes), and the network
 * it sits in. xCAT's mac column holds one MAC, `mac1|mac2`, `mac!hostname` entries, and
 * `mac!*NOIP*` for a second NIC that may boot but gets no fixed address (Schema.pm, mac.mac).
 */
export interface Reservation {
  node: string;
  mac: string;
  hostname: string;
  /** Absent for `!*NOIP*` MACs. */
  ip?: string;
  network: Network;
}

export interface ReservationSet {
  reservations: Reservation[];
  /** node → why it got no reservation. */
  failed: Record<string, string>;
}

const NOIP = "*NOIP*";

export function nodeReservations(db: Db, nodes: readonly string[], networks: readonly Network[]): ReservationSet {
  const attrs = readNodes(db, nodes);
  const out: ReservationSet = { reservations: [], failed: {} };
  for (const node of nodes) {
    const a = attrs.get(node);
    if (!a) {
      out.failed[node] = "is not a defined node";
      continue;
    }
    const r = reservationsOf(node, a, networks);
    if (typeof r === "string") out.failed[node] = r;
    else out.reservations.push(...r);
  }
  return out;
}

function reservationsOf(node: string, a: Attrs, networks: readonly Network[]): Reservation[] | string {
  if (!isHostname(node)) return `the node name is not a valid DHCP host name (letters, digits, hyphens and dots)`;
  if (!a.mac) return "No MAC address in the mac table (xcimg node set <node> mac=...)";
  const ip = a.ip;
  if (!ip) return "No IP address in the hosts table (xcimg node set <node> ip=...)";
  if (!isIpv4(ip)) return `hosts.ip '${printableValue(ip)}' is not an IPv4 address`;
  const network = networks.find((n) => inSubnet(ip, n.net, n.prefix));
  if (!network) return `${ip} is in no network of the networks table (xcimg table set networks net=...,mask=...)`;
  const out: Reservation[] = [];
  let fixed = false;
  for (const entry of a.mac.split("|")) {
    const [rawMac = "", host] = entry.split("!");
    if (!isMac(rawMac)) return `mac '${printableValue(rawMac)}' is not a MAC address like 52:54:00:12:34:56`;
    const mac = normMac(rawMac);
    if (host?.toUpperCase() === NOIP) {
      out.push({ node, mac, hostname: node, network });
      continue;
    }
    // `mac!othername` binds a NIC to another interface name of the node; only the node's own
    // name carries hosts.ip here (the address of other names lives in DNS/otherinterfaces)
    if (host && host !== node) continue;
    if (fixed) return `more than one MAC is bound to ${node}'s address ${ip}; mark the others mac!*NOIP*`;
    fixed = true;
    out.push({ node, mac, hostname: node, ip, network });
  }
  if (!fixed) return `no MAC of ${node} is bound to its own name (entries name other hosts or are *NOIP*)`;
  return out;
}
