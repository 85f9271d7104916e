import { join } from "node:path";
import { writeFileIfChanged } from "../fs/atomic";
import { type Grub2Links, removePxelinux, removeXnba } from "./loader-files";
import { dashedMac, hexIp } from "./loaders";
import type { bootPaths } from "./paths";

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
export const GRUB2_BOOT = [
  "#boot",
  "set timeout=5",
  // UEFI: start the disk's own loader from here. Firmware such as OVMF (and some vendors')
  // shows its setup screen when a network boot option returns instead of trying the next one.
  'if [ "$grub_platform" = "efi" ]; then',
  "    insmod part_gpt",
  "    insmod fat",
  "    insmod chain",
  "    if search --no-floppy --file --set=esp /EFI/BOOT/BOOTX64.EFI; then",
  "        set root=$esp",
  "        chainloader /EFI/BOOT/BOOTX64.EFI",
  "        boot",
  "    fi",
  "fi",
  "exit",
  "",
].join("\n");
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
