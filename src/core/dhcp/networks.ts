import type { Db } from "../db/open";
import { allRows, isDisabled } from "../db/rows";
import { DataError } from "../errors";
import { addressList, checked, intToIp, ipToInt, isIpv4, maskOf, prefixOf, printableValue } from "./values";

/**
 * A row of xCAT's networks table (Schema.pm), checked: the subnets makedhcp declares. xCAT's
 * `<xcatmaster>` in gateway/tftpserver/dhcpserver means "the management node's address on
 * this network", which for xcimg is config `master`. Disabled rows are skipped, as xCAT does.
 */
export interface Network {
  netname: string;
  net: string;
  prefix: number;
  mask: string;
  mgtifname?: string;
  gateway?: string;
  tftpserver?: string;
  nameservers: string[];
  ntpservers: string[];
  logservers: string[];
  domain?: string;
  /** networks.dynamicrange: addresses handed to unknown clients (none by default: only reserved nodes get one). */
  dynamic?: [string, string];
  mtu?: number;
}

export function readNetworks(db: Db): Network[] {
  const out: Network[] = [];
  for (const r of allRows(db, "networks")) {
    if (isDisabled(r)) continue;
    out.push(parseNetwork(r));
  }
  return out.sort((a, b) => ipToInt(a.net) - ipToInt(b.net));
}

const XCATMASTER = "<xcatmaster>";

export function parseNetwork(r: Record<string, string | undefined>): Network {
  const where = `networks ${printableValue(r.netname || r.net || "?")}`;
  const net = checked("IPv4 address", r.net ?? "", `${where} net`);
  const prefix = prefixOf(r.mask ?? "");
  if (prefix === null)
    throw new DataError(`${where} mask: '${printableValue(r.mask ?? "")}' is not a netmask`, {
      hint: "use a dotted mask (255.255.255.0) or a prefix length (24)",
    });
  if ((ipToInt(net) & ~((0xffffffff << (32 - prefix)) >>> 0)) >>> 0 !== 0 && prefix > 0) {
    throw new DataError(`${where}: ${net} has host bits set for /${prefix}`, {
      hint: `the network address is ${intToIp((ipToInt(net) & ((0xffffffff << (32 - prefix)) >>> 0)) >>> 0)}`,
    });
  }
  const server = (col: string) => {
    const v = r[col];
    if (!v || v === XCATMASTER) return undefined;
    return checked("IPv4 address", v, `${where} ${col}`);
  };
  const netname = r.netname ?? `${net.replaceAll(".", "_")}-${maskOf(prefix).replaceAll(".", "_")}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(netname)) throw new DataError(`${where} netname: only letters, digits and . _ - are allowed`);
  const n: Network = {
    netname,
    net,
    prefix,
    mask: maskOf(prefix),
    gateway: server("gateway"),
    tftpserver: server("tftpserver"),
    nameservers: addressList(r.nameservers?.replaceAll(XCATMASTER, ""), `${where} nameservers`),
    ntpservers: addressList(r.ntpservers?.replaceAll(XCATMASTER, ""), `${where} ntpservers`),
    logservers: addressList(r.logservers?.replaceAll(XCATMASTER, ""), `${where} logservers`),
  };
  if (r.mgtifname) n.mgtifname = checked("interface name", r.mgtifname, `${where} mgtifname`);
  if (r.domain) n.domain = checked("host name", r.domain, `${where} domain`);
  if (r.dynamicrange) n.dynamic = parseRange(r.dynamicrange, `${where} dynamicrange`);
  if (r.mtu) {
    if (!/^\d{3,5}$/.test(r.mtu) || Number(r.mtu) < 576 || Number(r.mtu) > 65535)
      throw new DataError(`${where} mtu: '${printableValue(r.mtu)}' is not an MTU (576-65535)`);
    n.mtu = Number(r.mtu);
  }
  return n;
}

/** xCAT writes dynamic ranges as "a-b" (also "a,b"); both ends must be addresses. */
function parseRange(v: string, where: string): [string, string] {
  const parts = v.split(/[-,]/).map((s) => s.trim());
  if (parts.length !== 2 || !parts.every(isIpv4)) throw new DataError(`${where}: '${printableValue(v)}' is not a range like 10.0.0.100-10.0.0.200`);
  const [a, b] = parts as [string, string];
  if (ipToInt(a) > ipToInt(b)) throw new DataError(`${where}: the range ${a}-${b} ends before it starts`);
  return [a, b];
}
