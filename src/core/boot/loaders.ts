import { safeIp, safeMac } from "./boot-values";

/**
 * The per-node boot loader files, as xCAT's xnba.pm, grub2.pm and pxe.pm write them
 * (xcat.md §4.2), with one difference that makes the boot daemonless: instead of one initrd
 * that downloads the image (imgurl=) xcimg loads three — the packed image, xcimg's generic
 * initrd-stateless.gz and the node's identity overlay — which the kernel unpacks in that order.
 * These functions are pure (text in, text out) so golden tests can pin them.
 */
export interface BootFiles {
  /** Paths relative to the TFTP root, e.g. xcat/osimage/<img>/kernel. */
  kernel: string;
  /** In load order: packed image, boot initrd, node overlay. */
  initrds: string[];
}

export interface LoaderInput {
  /** chain.currstate, e.g. "netboot debian12-x86_64-compute". */
  currstate: string;
  /** Full kernel command line (with MYIPFN still in it). */
  kcmdline: string;
  files: BootFiles;
  /**
   * A per-node "done" marker (install: the installer PUTs it when it has finished): while the
   * URL answers, the script boots the local disk instead; `file` is where the marker lies on
   * the management node, named in a comment line so `boot --stat` can tell (stat.ts).
   */
  doneMarker?: { url: string; file: string };
}

/** The comment line of a loader file naming its done marker (read by stat.ts). */
export const DONE_MARKER_LINE = "#local-once-exists ";

/**
 * GRUB2's "boot the local disk" (local-boot.ts GRUB2_BOOT, and a marked node's grub2Config): on
 * UEFI first chainload the disk's removable-path loader, as firmware such as OVMF (and some
 * vendors') shows its setup screen when a network boot option returns instead of trying the
 * next one; then `exit` to the firmware and its next boot device. Every module it names is
 * built into Debian's signed grubnetx64.efi (part_gpt fat chain search test minicmd), so it
 * needs no unsigned module under Secure Boot.
 */
export const GRUB2_LOCAL_BOOT = [
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
];

/** The variable a done marker sets for GRUB: `<var>=<node>`, in a GRUB environment block. */
export const GRUB2_MARKER_VAR = "xcimg_done";

/**
 * A done marker URL as GRUB's http module names it: (http,<host>[:<port>])<path>. GRUB 2.06
 * reads the port after a colon of the device name, so an IPv6 host cannot be written (null).
 */
export function grub2MarkerPath(url: string): string | null {
  const u = new URL(url);
  if (u.protocol !== "http:" || u.hostname.includes(":") || u.hostname.startsWith("[")) return null;
  return `(http,${u.hostname}${u.port ? `:${u.port}` : ""})${u.pathname}`;
}

/** iPXE's variable for the DHCP next-server, which xCAT puts where the MN address goes. */
const NEXT_SERVER = "$" + "{next-server}";

/** The names iPXE gives the fetched images; UEFI kernels find initrds by these names. */
function ipxeName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * xnba (iPXE) for BIOS: <tftpdir>/xcat/xnba/nodes/<node>. `base` is the URL prefix of the
 * TFTP root, e.g. "http://${next-server}/tftpboot" (xCAT's) or "http://${next-server}:8080/tftpboot".
 */
export function xnbaConfig(i: LoaderInput, base: string, opts: { uefi?: boolean } = {}): string {
  const kcmd = i.kcmdline.replaceAll("!myipfn!", NEXT_SERVER);
  const names = i.files.initrds.map(ipxeName);
  const initrdArgs = opts.uefi ? names.map((n) => ` initrd=${n}`).join("") : "";
  let s = "#!gpxe\n";
  s += `#${i.currstate}\n`;
  if (i.doneMarker) {
    // imgfetch only downloads: whatever the marker holds is never executed, so a node that could
    // write another's marker could at most make it boot its disk, never run its own script
    s += `${DONE_MARKER_LINE}${i.doneMarker.file}\n`;
    s += `imgfetch -n done ${i.doneMarker.url} && goto done || goto install\n`;
    s += ":done\nimgfree done\nexit\n:install\n";
  }
  s += `imgfetch -n kernel ${base}/${i.files.kernel}\n`;
  s += "imgload kernel\n";
  s += `imgargs kernel ${kcmd} BOOTIF=01-\${netX/mac:hexhyp}${initrdArgs}\n`;
  i.files.initrds.forEach((f, n) => {
    s += `imgfetch -n ${names[n]} ${base}/${f}\n`;
  });
  s += "imgexec kernel\n";
  return s;
}

export interface Grub2Input extends LoaderInput {
  /** tftp (grub2, grub2-tftp) or http (grub2-http). */
  protocol: "tftp" | "http";
  serverIp: string;
  httpPort: number;
  /** For http: the URL path of the TFTP root, xCAT's <tftpdir> (e.g. /tftpboot). */
  httpRoot: string;
  arch: string;
  debug?: boolean;
  /** The node the file is for: a done marker counts only when it names it (GRUB2_MARKER_VAR). */
  node?: string;
}

/** grub2: <tftpdir>/boot/grub2/<node>, hard-linked as grub.cfg-01-<mac> and grub.cfg-<HEXIP>. No newline after }. */
export function grub2Config(i: Grub2Input, myIp: string): string {
  const kcmd = i.kcmdline.replaceAll("!myipfn!", myIp);
  const efi = /x86/i.test(i.arch) ? "efi" : "";
  const root = i.protocol === "http" ? i.httpRoot : "";
  let s = `#${i.currstate}\n`;
  const marker = i.doneMarker ? grub2MarkerPath(i.doneMarker.url) : null;
  if (i.doneMarker && marker && i.node) s += `${DONE_MARKER_LINE}${i.doneMarker.file}\n`;
  if (i.debug) s += "set debug=all\n";
  s += "set timeout=5\n";
  if (marker && i.node) {
    // GRUB 2.06's http module opens a 404 (or 403) as a file with the error page's size, so
    // `test -s` would call every node installed; `-e`/`-f` see no file on a network device at
    // all. load_env reads the marker as a GRUB environment block (the node PUTs one, docs/install.md) and takes
    // only the one variable, which must name this node: an error page is no valid block, and
    // whatever the marker holds is never run. An absent marker prints "invalid environment block".
    s += "insmod http\n";
    s += "insmod loadenv\n";
    s += `set ${GRUB2_MARKER_VAR}=\n`;
    s += `load_env -f ${marker} ${GRUB2_MARKER_VAR}\n`;
    s += `if [ "$${GRUB2_MARKER_VAR}" = "${i.node}" ]; then\n`;
    s += GRUB2_LOCAL_BOOT.map((l) => `    ${l}\n`).join("");
    s += "fi\n";
  }
  s += 'set default="xCAT OS Deployment"\n';
  s += 'menuentry "xCAT OS Deployment" {\n';
  s += "    insmod http\n";
  s += "    insmod tftp\n";
  s += i.protocol === "http" && i.httpPort !== 80 ? `    set root=http,${i.serverIp}:${i.httpPort}\n` : `    set root=${i.protocol},${i.serverIp}\n`;
  s += "    echo Loading Install kernel ...\n";
  s += `    linux${efi} ${root}/${i.files.kernel} ${kcmd} BOOTIF=$net_default_mac\n`;
  s += "    echo Loading initial ramdisk ...\n";
  s += `    initrd${efi} ${i.files.initrds.map((f) => `${root}/${f}`).join(" ")}\n`;
  s += "}";
  return s;
}

/** pxelinux: <tftpdir>/pxelinux.cfg/<node>, linked as 01-<mac> and <HEXIP>. */
export function pxelinuxConfig(i: LoaderInput, myIp: string, opts: { ipappend?: boolean } = {}): string {
  const kcmd = i.kcmdline.replaceAll("!myipfn!", myIp);
  let s = `#${i.currstate}\n`;
  // pxelinux cannot test for a file: the comment names the marker so that `xcimg boot --stat`
  // (stat.ts), run by hand or by a systemd .path unit when a marker appears, writes the node's local boot
  if (i.doneMarker) s += `${DONE_MARKER_LINE}${i.doneMarker.file}\n`;
  s += "DEFAULT xCAT\n";
  s += "LABEL xCAT\n";
  s += ` KERNEL ${i.files.kernel}\n`;
  s += ` APPEND initrd=${i.files.initrds.join(",")} ${kcmd}\n`;
  if (opts.ipappend !== false) s += "  IPAPPEND 2\n";
  return s;
}

/** 10.0.2.15 → 0A00020F, the name pxelinux and GRUB try after the MAC. */
export function hexIp(ip: string): string {
  // the result names a file in pxelinux.cfg/ and boot/grub2/: only a real address may become one
  return safeIp(ip)
    .split(".")
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, "0"))
    .join("");
}

/** 52:54:00:AB:cd:01 → 52-54-00-ab-cd-01 */
export function dashedMac(mac: string): string {
  // the result names a file (grub.cfg-01-<mac>, 01-<mac>): a mac of ../../x must not become one
  return safeMac(mac).replaceAll(":", "-");
}
