import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import { NETBOOT_LOADERS, NODE_TYPE, readNodes } from "../defs/node";
import { writeObject } from "../defs/object";
import { DataError, fsError } from "../errors";
import { writeFileIfChanged } from "../fs/atomic";
import { safeNodeFileName } from "../names";
import { Grub2Links, removePxelinux, removeXnba } from "./loader-files";
import { dashedMac, GRUB2_LOCAL_BOOT, hexIp } from "./loaders";
import { firstMac } from "./mac";
import { bootPaths } from "./paths";

/**
 * xCAT's `nodeset <node> boot`: the node's boot loader file tells it to leave the network boot
 * and start from its local disk, byte for byte as xCAT writes it — iPXE `exit` (BIOS and UEFI
 * scripts), pxelinux `LOCALBOOT 0` — except GRUB2, where xCAT removes the node's DHCP file
 * name and writes a file with no menu entry; with the one generic GRUB that xcimg's DHCP setup
 * serves to all nodes (docs/boot.md) that would stop at a GRUB prompt, so the file ends with
 * `exit`, which returns to the firmware and its next boot device. On UEFI it first chainloads
 * the disk's removable-path loader (which clone installs), as not every firmware moves on.
 */
export const XNBA_BOOT = "#!gpxe\n#boot\nexit\n";
export const GRUB2_BOOT = ["#boot", "set timeout=5", ...GRUB2_LOCAL_BOOT, ""].join("\n");
export const PXELINUX_BOOT = "#boot\nDEFAULT xCAT\nLABEL xCAT\nLOCALBOOT 0\n";

export function writeLocalBoot(
  paths: ReturnType<typeof bootPaths>,
  grub2: Grub2Links,
  n: { node: string; loader: string; mac?: string; ip?: string },
): string[] {
  const loader = n.loader || "xnba";
  const written: string[] = [];
  if (loader !== "xnba") removeXnba(paths.xnbaDir, n.node);
  if (!loader.startsWith("grub2")) grub2.removeNode(n.node);
  if (loader !== "pxe") removePxelinux(paths.pxelinuxDir, n.node, n.mac, n.ip);
  // a node never booted from the network before has no loader directory yet (boot.ts makes it for image boots)
  const dir = loader === "xnba" ? paths.xnbaDir : loader === "pxe" ? paths.pxelinuxDir : paths.grub2Dir;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  if (loader === "xnba") {
    for (const f of [n.node, `${n.node}.uefi`]) {
      writeFileIfChanged(join(paths.xnbaDir, f), XNBA_BOOT);
      written.push(join(paths.xnbaDir, f));
    }
  } else if (loader.startsWith("grub2")) {
    written.push(...grub2.write(n.node, GRUB2_BOOT, [...(n.mac ? [`grub.cfg-01-${dashedMac(n.mac)}`] : []), ...(n.ip ? [`grub.cfg-${hexIp(n.ip)}`] : [])]));
  } else if (loader === "pxe") {
    const f = join(paths.pxelinuxDir, n.node);
    writeFileIfChanged(f, PXELINUX_BOOT);
    written.push(f);
  }
  return written;
}

export interface LocalBootResult {
  booted: { node: string; currstate: "boot"; loader: string; files: string[] }[];
  /** node → reason: not defined, an unknown loader, a name/MAC/IP that cannot be a file name; nothing of that node was written. */
  failed: Record<string, string>;
}

/**
 * `xcimg boot <noderange> boot` (xCAT `nodeset <noderange> boot`): each node's loader file says
 * "boot from the local disk" and chain.currstate becomes `boot`, as xCAT's destiny.pm sets it
 * before xnba.pm/grub2.pm/pxe.pm write the file — so `boot --stat` reads `boot` back from both.
 * The identity overlay is kept, as xCAT keeps a node's other files: the next image boot reuses it.
 */
export function localBootNodes(ctx: Context, nodes: readonly string[]): LocalBootResult {
  const db = ctx.db();
  const attrs = readNodes(db, nodes);
  const paths = bootPaths(ctx.config.tftpdir);
  const grub2 = new Grub2Links(paths.grub2Dir);
  const result: LocalBootResult = { booted: [], failed: {} };
  for (const node of nodes) {
    const a = attrs.get(node);
    if (!a) {
      result.failed[node] = "is not a defined node (xcimg node set adds it)";
      continue;
    }
    const loader = a.netboot || "xnba";
    if (!(NETBOOT_LOADERS as readonly string[]).includes(loader)) {
      result.failed[node] = `noderes.netboot '${loader}' is not supported by xcimg (use ${NETBOOT_LOADERS.join(", ")})`;
      continue;
    }
    try {
      // every name is checked before the first write, so a bad MAC or IP changes nothing of the node
      safeNodeFileName(node);
      const mac = firstMac(node, a.mac);
      if (mac) dashedMac(mac);
      if (a.ip) hexIp(a.ip);
      const files = writeLocalBoot(paths, grub2, { node, loader, mac, ip: a.ip });
      result.booted.push({ node, currstate: "boot", loader, files });
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      result.failed[node] = e.message;
    }
  }
  db.write(() => {
    for (const { node } of result.booted) writeObject(db, NODE_TYPE, node, { currstate: "boot" });
  });
  return result;
}
