import type { Attrs } from "../defs/object";

/** A MAC address as noderes.installnic may give one instead of an interface name. */
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

/**
 * The node's MAC from its mac table value: "aa:bb:.." or "mac!host|mac!host" for several NICs
 * (xCAT Schema.pm, mac.mac): the entry without a host or for this node, else the first; lower case.
 */
export function firstMac(node: string, value?: string): string | undefined {
  if (!value) return undefined;
  const entries = value.split("|").map((p) => p.split("!"));
  const own = entries.find(([, host]) => !host || host === node) ?? entries[0];
  return own?.[0]?.toLowerCase();
}

/** installnic, when it names a MAC rather than an interface (xCAT NetworkUtils gen_net_boot_params). */
export function installnicMac(installnic?: string): string | undefined {
  return installnic && MAC.test(installnic) ? installnic.toLowerCase() : undefined;
}

/** The MAC of the NIC the node boots from: installnic when it is a MAC, else its own mac table entry. */
export function bootMac(node: string, a: Attrs): string | undefined {
  return installnicMac(a.installnic) ?? firstMac(node, a.mac);
}
