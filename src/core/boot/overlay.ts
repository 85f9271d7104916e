import { type MemoryEntry, memoryCpio } from "../archive/cpio";
import type { HostKey } from "./hostkeys";
import type { ImageFacts } from "./image-facts";

/**
 * A node's identity as a small cpio the kernel unpacks after the image and the boot initrd:
 * hostname, network configuration for whatever stack the image runs (systemd-networkd,
 * NetworkManager, or ifupdown / busybox ifup, whose interface name /init fills in at boot),
 * root's authorized_keys, the node's own SSH host key, and /etc/xcimg/node.env with the node
 * and image names for scripts. No daemon is involved: the file is fetched with the kernel.
 */
export interface NodeNetwork {
  mac: string;
  mode: "dhcp" | "static";
  ip?: string;
  prefix?: number;
  gateway?: string;
  dns?: string[];
  /**
   * The initramfs already configured this NIC and the root file system depends on it
   * (statelite over NFS): the image must keep the address instead of restarting DHCP.
   */
  keepAddress?: boolean;
}

export interface OverlayInput {
  node: string;
  image: string;
  master: string;
  net: NodeNetwork;
  hostKey: HostKey;
  authorizedKeys: string;
  facts: ImageFacts;
  /**
   * Files a provisioning method adds (statelite: its per-node data). When given, the overlay
   * is staged: everything goes under /.xcimg/overlay/ with a list in /.xcimg/overlay.list,
   * for an initramfs that assembles the root itself and puts the files on top at the end
   * (unpacked at their real paths, the kernel would replace a statelite symlink such as
   * /root -> .statelite/tmpfs/root with a plain directory).
   */
  extra?: MemoryEntry[];
  /** The node's postscripts: runner, lists, mypostscript, units (core/postscripts/node-files.ts). */
  postscripts?: MemoryEntry[];
}

const DEFAULT_DIR_MODE: Record<string, number> = { root: 0o700, "root/.ssh": 0o700 };

function shellQuote(v: string): string {
  return `'${v.replaceAll("'", "'\\''")}'`;
}

export function nodeEnv(i: OverlayInput): string {
  const vars: [string, string][] = [
    ["XCIMG_NODE", i.node],
    ["XCIMG_IMAGE", i.image],
    ["XCIMG_MASTER", i.master],
    ["XCIMG_MAC", i.net.mac],
    ["XCIMG_NET", i.net.mode],
    ["XCIMG_IP", i.net.ip ?? ""],
    ["XCIMG_PREFIX", i.net.prefix === undefined ? "" : String(i.net.prefix)],
    ["XCIMG_GATEWAY", i.net.gateway ?? ""],
    ["XCIMG_DNS", (i.net.dns ?? []).join(" ")],
  ];
  return `# written by xcimg boot; sourced by /init and free for site scripts\n${vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join("\n")}\n`;
}

export function networkdUnit(net: NodeNetwork): string {
  let s = "# written by xcimg boot\n[Match]\n";
  s += `MACAddress=${net.mac}\n\n[Network]\n`;
  if (net.mode === "static" && net.ip) {
    s += `Address=${net.ip}/${net.prefix ?? 24}\n`;
    if (net.gateway) s += `Gateway=${net.gateway}\n`;
    for (const d of net.dns ?? []) s += `DNS=${d}\n`;
  } else s += "DHCP=ipv4\n";
  if (net.keepAddress) s += "KeepConfiguration=yes\n";
  return s;
}

export function nmKeyfile(node: string, net: NodeNetwork): string {
  let s = `# written by xcimg boot\n[connection]\nid=xcimg-${node}\ntype=ethernet\nautoconnect=true\n\n[ethernet]\nmac-address=${net.mac.toUpperCase()}\n\n[ipv4]\n`;
  if (net.mode === "static" && net.ip) {
    s += `method=manual\naddress1=${net.ip}/${net.prefix ?? 24}${net.gateway ? `,${net.gateway}` : ""}\n`;
    if (net.dns?.length) s += `dns=${net.dns.join(";")};\n`;
  } else s += "method=auto\n";
  return `${s}\n[ipv6]\nmethod=auto\n`;
}

export function overlayEntries(i: OverlayInput): MemoryEntry[] {
  const f = i.facts;
  const files: MemoryEntry[] = [];
  const usedDirs = new Set<string>();
  const file = (name: string, data: string, mode = 0o644) => {
    for (let d = name.slice(0, name.lastIndexOf("/")); d; d = d.includes("/") ? d.slice(0, d.lastIndexOf("/")) : "") usedDirs.add(d);
    files.push({ name, mode: 0o100000 | mode, data });
  };
  const link = (name: string, target: string) => {
    for (let d = name.slice(0, name.lastIndexOf("/")); d; d = d.includes("/") ? d.slice(0, d.lastIndexOf("/")) : "") usedDirs.add(d);
    files.push({ name, mode: 0o120777, data: target });
  };

  file("etc/hostname", `${i.node}\n`);
  file("etc/xcimg/node.env", nodeEnv(i));
  file("etc/ssh/ssh_host_ed25519_key", i.hostKey.private, 0o600);
  file("etc/ssh/ssh_host_ed25519_key.pub", `${i.hostKey.public}\n`);
  if (i.authorizedKeys) file("root/.ssh/authorized_keys", i.authorizedKeys, 0o600);

  const unknown = !f.inspected;
  if (f.networkdUnit || unknown) file("etc/systemd/network/10-xcimg.network", networkdUnit(i.net));
  if (f.networkManager || unknown) file(`etc/NetworkManager/system-connections/xcimg-${i.node}.nmconnection`, nmKeyfile(i.node, i.net), 0o600);
  if (f.ifupdown || unknown) file("etc/xcimg/ifupdown", `# /init writes /etc/network/interfaces for this node's NIC\n${i.net.keepAddress ? "manual\n" : ""}`);
  if (f.networkdUnit && !f.networkManager && !f.ifupdown) {
    // nothing else would bring the NIC up: enable networkd (Debian ships it disabled)
    link("etc/systemd/system/multi-user.target.wants/systemd-networkd.service", f.networkdUnit);
  }

  for (const e of i.postscripts ?? []) {
    const text = typeof e.data === "string" || e.data === undefined ? (e.data ?? "") : Buffer.from(e.data).toString();
    if ((e.mode & 0o170000) === 0o120000) link(e.name, text);
    else file(e.name, text, e.mode & 0o7777);
  }
  for (const e of i.extra ?? [])
    file(e.name, typeof e.data === "string" || e.data === undefined ? (e.data ?? "") : Buffer.from(e.data).toString(), e.mode & 0o7777);

  const dirs: MemoryEntry[] = [...usedDirs].sort().map((d) => {
    const own = f.dirs.get(d);
    return { name: d, mode: 0o040000 | (own?.mode ?? DEFAULT_DIR_MODE[d] ?? 0o755), uid: own?.uid ?? 0, gid: own?.gid ?? 0 };
  });
  if (!i.extra) return [...dirs, ...files];
  const staged = (e: MemoryEntry) => ({ ...e, name: `.xcimg/overlay/${e.name}` });
  return [
    { name: ".xcimg", mode: 0o040755 },
    { name: ".xcimg/overlay", mode: 0o040755 },
    { name: ".xcimg/overlay.list", mode: 0o100644, data: `${files.map((e) => `/${e.name}`).join("\n")}\n` },
    ...dirs.map(staged),
    ...files.map(staged),
  ];
}

/** Uncompressed: a few KiB the kernel unpacks as is, and no gzip per node for 10,000 nodes. */
export function nodeOverlay(i: OverlayInput, mtime: number): Buffer {
  return memoryCpio(overlayEntries(i), mtime);
}
