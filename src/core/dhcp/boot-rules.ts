import type { DhcpSettings } from "./settings";

/**
 * Which first-stage loader a booting client gets, by firmware architecture (DHCP option 93,
 * RFC 4578 and IANA's "Processor Architecture Types") and by whether it already runs iPXE
 * (it sends user-class "iPXE"). Rules are per architecture, never per node: the node itself is
 * found by MAC — iPXE clients fetch one script, xcat/xnba/bymac, that chains
 * xcat/xnba/mac/<mac>, a link to the node's xnba file that `xcimg dhcp` keeps next to what
 * `xcimg boot` writes; GRUB and pxelinux look up grub.cfg-01-<mac> / 01-<mac> themselves.
 * So `xcimg boot` never needs a DHCP change; only MACs and addresses do.
 */
export interface BootRule {
  /** A tag/class name: letters, digits and hyphens. */
  name: string;
  /** Option 93 values this rule answers. */
  arch: number[];
  /** true: only clients running iPXE; false: only clients that do not. */
  ipxe: boolean;
  /** A path relative to tftpdir (TFTP), or an http:// URL. */
  filename: string;
  /** UEFI HTTP boot: the reply must carry option 60 "HTTPClient" (UEFI spec 2.5+, 24.7). */
  httpClient?: boolean;
}

/**
 * Stable names under tftpdir for the loaders `xcimg dhcp -n`, `boot` and `clone` publish
 * (core/dhcp/loaders.ts): xCAT's own names for iPXE; shim's: it loads grubx64.efi (grubaa64.efi)
 * from the directory it came from, so both sit at the TFTP root.
 */
export const LOADER_NAMES = {
  ipxeBios: "xcat/xnba.kpxe",
  ipxeEfi: "xcat/xnba.efi",
  pxelinux: "pxelinux.0",
  shimX64: "shimx64.efi",
  grubX64: "grubx64.efi",
  grubArm64: "grubaa64.efi",
} as const;

/** Where Debian's signed netboot GRUB looks for its one configuration file: its prefix is (tftp)/grub. */
export const GRUB_REDIRECTS = ["grub/grub.cfg"] as const;

/** The iPXE scripts every iPXE client fetches (BIOS, UEFI); they chain the MAC-keyed name. */
export const BYMAC_SCRIPTS = { bios: "xcat/xnba/bymac", uefi: "xcat/xnba/bymac.uefi" } as const;
export const MAC_DIR = "xcat/xnba/mac";

export const ARCH = { bios: 0x0000, efiIa32: 0x0006, efiX64: 0x0007, efiBc: 0x0009, efiArm64: 0x000b, efiX64Http: 0x0010 } as const;

export function httpBase(s: DhcpSettings, server: string): string {
  return `http://${server}${s.httpPort === 80 ? "" : `:${s.httpPort}`}/tftpboot`;
}

export function bootRules(s: DhcpSettings, server = s.master): BootRule[] {
  const base = httpBase(s, server);
  const efi = [ARCH.efiX64, ARCH.efiBc];
  return [
    // a TFTP name, so the rule is the same on every network: iPXE fetches it from next-server
    { name: "ipxe-bios", arch: [ARCH.bios], ipxe: true, filename: BYMAC_SCRIPTS.bios },
    { name: "ipxe-efi", arch: efi, ipxe: true, filename: BYMAC_SCRIPTS.uefi },
    { name: "bios", arch: [ARCH.bios], ipxe: false, filename: s.biosLoader === "pxe" ? LOADER_NAMES.pxelinux : LOADER_NAMES.ipxeBios },
    { name: "efi64", arch: efi, ipxe: false, filename: s.uefiLoader === "grub2" ? LOADER_NAMES.shimX64 : LOADER_NAMES.ipxeEfi },
    { name: "arm64", arch: [ARCH.efiArm64], ipxe: false, filename: LOADER_NAMES.grubArm64 },
    { name: "efi64-http", arch: [ARCH.efiX64Http], ipxe: false, filename: `${base}/${LOADER_NAMES.ipxeEfi}`, httpClient: true },
  ];
}

/** The MAC-keyed file name iPXE's ${netX/mac:hexhyp} produces: 52-54-00-12-34-01. */
export const macKey = (mac: string) => mac.toLowerCase().replaceAll(":", "-");

/**
 * xcat/xnba/bymac[.uefi]: `${netX/mac:hexhyp}` is the MAC of the NIC iPXE booted from. When
 * the node has no boot file (never booted, or `boot --offline`) the chain fails and iPXE
 * exits, so the firmware moves on to the next boot device, as with xCAT's "exit" entry.
 */
export function bymacScript(s: DhcpSettings, uefi: boolean): string {
  const base = `http://\${next-server}${s.httpPort === 80 ? "" : `:${s.httpPort}`}/tftpboot`;
  return `#!ipxe\n# written by xcimg dhcp -n: every iPXE client chains its own MAC-keyed boot file\nchain ${base}/${MAC_DIR}/\${netX/mac:hexhyp}${uefi ? ".uefi" : ""} || exit 1\n`;
}
