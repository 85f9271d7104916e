import type { Network } from "./networks";
import type { DhcpSettings } from "./settings";
import { inSubnet } from "./values";

/**
 * One model of what the DHCP server does, rendered for each backend: the subnets (networks
 * table), the boot rules per architecture, and the host entries. Every string in it has been
 * checked by values.ts (renderers can print it as is).
 */
export interface HostEntry {
  node: string;
  mac: string;
  hostname: string;
  /** Absent for xCAT's `!*NOIP*` MACs: known (may boot), no fixed address. */
  ip?: string;
}

export interface DhcpModel {
  settings: DhcpSettings;
  networks: Network[];
  /** Sorted by node, then MAC. */
  hosts: HostEntry[];
  /** Where the files go (config dhcp.dir). */
  dir: string;
  /** dnsmasq proxyDHCP: boot information only, the site's own DHCP server hands out addresses. */
  proxy?: boolean;
}

export function networkOf(networks: readonly Network[], ip: string): Network | undefined {
  return networks.find((n) => inSubnet(ip, n.net, n.prefix));
}

export const sortHosts = (h: HostEntry[]) => h.sort((a, b) => (a.node === b.node ? (a.mac < b.mac ? -1 : 1) : a.node < b.node ? -1 : 1));

/** The TFTP/next-server address of a network: networks.tftpserver, else the management node. */
export const nextServer = (m: DhcpModel, n: Network) => n.tftpserver ?? m.settings.master;
