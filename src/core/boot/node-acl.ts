import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import { writeFileAtomic } from "../fs/atomic";
import type { Logger } from "../log";
import { overlayRel, stateDir } from "./paths";

/**
 * An nginx snippet that serves each node's identity overlay (its private SSH host key) and
 * install answer file (root's password hash) only to that node's own address (hosts.ip):
 * without it anything on the provisioning network — including an unprivileged user on another
 * compute node — can fetch every node's key. A site includes it in the server block that
 * serves /tftpboot and /install (docs/boot.md). Exact-match locations win over the prefix
 * locations of that block, so nodes without hosts.ip keep the network-wide rule.
 *
 * Every `xcimg boot` updates the lines of the nodes it booted; the file holds names and
 * addresses, no secrets. TFTP has no such control: nodes that load their overlay over TFTP
 * (grub2, grub2-tftp, pxe) are protected by the network alone.
 */
export function nodeAclFile(config: Config): string {
  return join(stateDir(config), "nginx-node-files.conf");
}

/** Only what cannot change the meaning of an nginx directive: no quotes, spaces, `;`, braces or `$` variables. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SAFE_PATH = /^\/[A-Za-z0-9._/+-]*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;

function nodeLines(config: Config, node: string, ip: string): string[] {
  const tftp = config.tftpdir.replace(/\/+$/, "");
  const install = config.installdir.replace(/\/+$/, "");
  const files: [string, string][] = [
    [`/tftpboot/${overlayRel(node)}`, `${tftp}/${overlayRel(node)}`],
    [`/install/autoinst/${node}`, `${install}/autoinst/${node}`],
    // an install node's end of install, with its host key (src/provmethods/install/post-install.ts)
    [`/install/autoinst/${node}+post`, `${install}/autoinst/${node}+post`],
  ];
  return [
    ...files.map(([url, file]) => `location = ${url} { alias ${file}; allow ${ip}; deny all; }`),
    // the node's own "installed" marker: only it may PUT it, a few bytes, and what it holds is
    // never run (the iPXE script only fetches it, core/boot/loaders.ts)
    `location = /install/${MARKER_DIR}/${node} { alias ${install}/${MARKER_DIR}/${node}; dav_methods PUT; dav_access user:rw group:r; client_max_body_size 1k; allow ${ip}; deny all; }`,
  ];
}

/** The directory under installdir that holds installed nodes' markers (src/provmethods/install/post-install.ts MARKER_DIR). */
const MARKER_DIR = "xcimg-installed";

const HEADER = "# written by xcimg boot: each node's overlay, answer file and installed marker only for its own address (docs/boot.md)";
/** The node a line of ours is for (node names have no '+', core/names.ts). */
const LINE_NODE = /^location = \/(?:tftpboot\/xcat\/overlay\/([^ ]+)\.cpio|install\/(?:autoinst|xcimg-installed)\/([^ +]+)(?:\+post)?) \{/;

/**
 * Update the snippet for the nodes of one boot (their current hosts.ip), keeping every other
 * node's lines: reading all 10,000 nodes' attributes on every boot would double its time.
 */
export function writeNodeAcl(config: Config, booted: { node: string; ip?: string }[], log: Logger): void {
  if (booted.length === 0) return;
  if (!SAFE_PATH.test(config.tftpdir) || !SAFE_PATH.test(config.installdir)) {
    log.warn(`${nodeAclFile(config)} not written: tftpdir or installdir has characters nginx would interpret`);
    return;
  }
  const file = nodeAclFile(config);
  const byNode = new Map<string, string[]>();
  let old = "";
  try {
    old = readFileSync(file, "utf8");
  } catch {
    // first boot: nothing to keep
  }
  for (const line of old.split("\n")) {
    const m = LINE_NODE.exec(line);
    const node = m?.[1] ?? m?.[2];
    if (node && SAFE_NAME.test(node)) byNode.set(node, [...(byNode.get(node) ?? []), line]);
  }
  for (const { node, ip = "" } of booted) {
    if (SAFE_NAME.test(node) && (IPV4.test(ip) || (ip.includes(":") && IPV6.test(ip)))) byNode.set(node, nodeLines(config, node, ip));
    else byNode.delete(node); // no address (any more): the network-wide rule applies
  }
  const lines = [...byNode.keys()].sort().flatMap((n) => byNode.get(n) as string[]);
  writeFileAtomic(file, `${[HEADER, ...lines].join("\n")}\n`, 0o644);
}
