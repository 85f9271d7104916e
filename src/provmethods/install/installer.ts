import { statSync } from "node:fs";
import { join } from "node:path";
import { installnicMac } from "../../core/boot/mac";
import { DataError, NotFoundError } from "../../core/errors";
import { readableFile } from "../../core/fs/predicates";
import type { InstallerFamily } from "../../core/template/builtin";

/**
 * Where each installer's network-boot kernel and initrd are on copied media, the names they
 * get under <tftpdir>/xcat/osimage/<image>/ (xCAT's mkinstall copies them there), and the
 * kernel command line that points the installer at its per-node answer file.
 */
export interface InstallerFiles {
  /** Source files on the media. */
  kernel: string;
  initrd: string;
  /** Names under <tftpdir>/xcat/osimage/<image>/, as xCAT names them. */
  kernelName: string;
  initrdName: string;
}

const DEB_ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64", ppc64le: "ppc64el" };

function firstPair(pairs: [string, string][]): [string, string] | undefined {
  return pairs.find(([k, i]) => readableFile(k) && readableFile(i));
}

/** The media directory must exist (imgimport's check_media message), then the installer in it. */
export function findInstaller(family: InstallerFamily, pkgdir: string, osvers: string, arch: string): InstallerFiles {
  let isDir = false;
  try {
    isDir = statSync(pkgdir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new NotFoundError(`This image requires that you first copy media for ${osvers}-${arch}`, {
      hint: `copy or mount the ${osvers} ${arch} media to ${pkgdir}`,
    });
  }
  if (family === "rh") {
    const pairs: [string, string][] = /ppc64/.test(arch)
      ? [[join(pkgdir, "ppc/ppc64/vmlinuz"), join(pkgdir, "ppc/ppc64/initrd.img")]]
      : [[join(pkgdir, "images/pxeboot/vmlinuz"), join(pkgdir, "images/pxeboot/initrd.img")]];
    const found = firstPair(pairs);
    if (!found) throw new NotFoundError(`Install image not found in ${pkgdir}`, { hint: `the media needs ${pairs[0]?.[0]} and ${pairs[0]?.[1]}` });
    return { kernel: found[0], initrd: found[1], kernelName: "vmlinuz", initrdName: "initrd.img" };
  }
  if (family === "sles") {
    const dir = arch === "ppc64le" ? join(pkgdir, "1/boot/ppc64le") : join(pkgdir, `1/boot/${arch}/loader`);
    const found = firstPair([[join(dir, "linux"), join(dir, "initrd")]]);
    if (!found)
      throw new NotFoundError(`Failed to detect copycd configured install source at ${pkgdir}`, {
        hint: `the first SLES disc must be in ${join(pkgdir, "1")} (${dir}/linux and initrd)`,
      });
    return { kernel: found[0], initrd: found[1], kernelName: "linux", initrdName: "initrd" };
  }
  const darch = DEB_ARCH[arch] ?? arch;
  const pairs: [string, string][] = [
    [`install/netboot/debian-installer/${darch}/linux`, `install/netboot/debian-installer/${darch}/initrd.gz`],
    [`install/hwe-netboot/ubuntu-installer/${darch}/linux`, `install/hwe-netboot/ubuntu-installer/${darch}/initrd.gz`],
    [`install/netboot/ubuntu-installer/${darch}/linux`, `install/netboot/ubuntu-installer/${darch}/initrd.gz`],
    ["install/netboot/vmlinuz", "install/netboot/initrd.gz"],
    [`debian-installer/${darch}/linux`, `debian-installer/${darch}/initrd.gz`],
  ].map(([k, i]) => [join(pkgdir, k as string), join(pkgdir, i as string)]);
  const found = firstPair(pairs);
  if (!found) {
    if (readableFile(join(pkgdir, "casper/vmlinuz"))) {
      throw new DataError(
        `${pkgdir} is Ubuntu live-server (subiquity) media; xcimg installs Debian and Ubuntu with debian-installer netboot images and a preseed`,
        {
          hint: `unpack the distribution's netboot tarball into ${join(pkgdir, "install/netboot")}`,
        },
      );
    }
    throw new NotFoundError(`Install image not found in ${pkgdir}`, {
      hint: `debian-installer's netboot kernel and initrd are needed: unpack the distribution's netboot.tar.gz into ${join(pkgdir, "install/netboot")} (giving debian-installer/${darch}/linux and initrd.gz)`,
    });
  }
  return { kernel: found[0], initrd: found[1], kernelName: "vmlinuz", initrdName: "initrd.img" };
}

/** What the kernel command line is built from, per node (noderes, nodehm, mac, site). */
export interface KcmdlineInput {
  family: InstallerFamily;
  node: string;
  osvers: string;
  arch: string;
  /** http://<server>:<port> prefix parts */
  server: string;
  httpPort: number;
  /** URL path of the media (installdir replaced by /install). */
  mediaPath: string;
  installnic?: string;
  primarynic?: string;
  /** The node's MAC (from the mac table), lower case. */
  mac?: string;
  serialport?: string;
  serialspeed?: string;
  serialflow?: string;
  /** site.xcatdebugmode */
  debugmode?: string;
  domain?: string;
  /** The volatile part of bootparams/linuximage addkcmdline, appended last as xCAT's boot plugins do. */
  addkcmdline?: string;
}

/** xCAT NetworkUtils gen_net_boot_params: installnic (else primarynic) is a name, a MAC, or "mac". */
function netParams(i: KcmdlineInput): { nicname?: string; mac?: string; setmac?: boolean } {
  const nic = i.installnic || i.primarynic;
  if (!nic || /^mac$/i.test(nic)) return { mac: i.mac };
  const mac = installnicMac(nic);
  if (mac) return { mac, setmac: true };
  return { nicname: nic, mac: i.mac };
}

function serial(i: KcmdlineInput): string {
  if (i.serialport === undefined || i.serialport === "") return "";
  if (!i.serialspeed)
    throw new DataError("serialport defined, but no serialspeed for this node in nodehm table", { hint: `xcimg node set ${i.node} serialspeed=115200` });
  const dev = /ppc64/.test(i.arch) ? "hvc" : "ttyS";
  return ` console=tty0 console=${dev}${i.serialport},${i.serialspeed}${/(hard|cts|ctsrts)/.test(i.serialflow ?? "") ? "n8r" : ""}`;
}

/** Major.minor of an osvers, as anaconda.pm's $kversion (rhels9.4 → 9.4, centos-stream9 → 9). */
function osVersion(osvers: string): number {
  const m = /^\D*([.0-9]+)/.exec(osvers);
  return m ? Number.parseFloat((m[1] as string).replace(/\.$/, "")) : 0;
}

export function installKcmdline(i: KcmdlineInput): string {
  const base = `http://${i.server}:${i.httpPort}`;
  const ks = `${base}/install/autoinst/${i.node}`;
  const net = netParams(i);
  let k: string;
  if (i.family === "rh") {
    // anaconda.pm mkinstall, spaces and all
    const el7 = osVersion(i.osvers) >= 7;
    k = el7 ? `inst.repo=${base}${i.mediaPath} inst.ks=${ks}` : `repo=${base}${i.mediaPath} ks=${ks}`;
    const ksdevice = net.nicname && !net.setmac ? `ksdevice=${net.nicname}` : net.mac ? `ksdevice=${net.mac}` : "";
    if (!el7) k += ` ${ksdevice} `;
    else if (/ppc/.test(i.arch)) k += ` ${net.mac && !(net.nicname && !net.setmac) ? `BOOTIF=${net.mac}` : ""} `;
    if (el7) k += ` ${net.nicname && !net.setmac ? `ip=${net.nicname}:dhcp` : net.mac ? "ip=dhcp" : ""} `;
    if (i.debugmode === "1" || i.debugmode === "2") k += `${i.debugmode === "2" ? " inst.sshd" : ""} inst.loglevel=debug inst.syslog=${i.server}`;
    const s = serial(i);
    if (s) k += ` inst.cmdline ${s}`;
  } else if (i.family === "sles") {
    // sles.pm mkinstall
    k = `autoyast=${ks} install=${base}${i.mediaPath}/1`;
    if (/^leap15/.test(i.osvers)) k += " self_update=0";
    const netdevice = net.nicname && !net.setmac ? net.nicname : net.mac;
    if (netdevice) k += ` netdevice=${netdevice} `;
    if (i.debugmode === "1" || i.debugmode === "2") k += `${i.debugmode === "2" ? " UseSSH=1 SSHPassword=cluster" : ""} Loghost=${i.server}`;
    k += serial(i);
    if (/ppc/.test(i.arch)) k += " dhcptimeout=150";
  } else {
    // debian.pm mkinstall, with debian-installer's documented automation switches: auto=true
    // defers the locale/keyboard questions until the preseed is loaded, priority=critical asks
    // nothing the preseed leaves open, url= is preseed/url.
    const iface = net.nicname && !net.setmac ? net.nicname : net.setmac ? net.mac : "auto";
    const host = i.httpPort === 80 ? i.server : `${i.server}:${i.httpPort}`;
    k = `auto=true priority=critical url=${ks} mirror/http/hostname=${host} mirror/http/directory=${i.mediaPath}`;
    k += ` netcfg/choose_interface=${iface} locale=en_US.UTF-8 keymap=us hostname=${i.node.replace(/\..*$/, "")}`;
    if (i.domain) k += ` domain=${i.domain}`;
    k += serial(i);
  }
  const add = i.addkcmdline?.trim();
  return add ? `${k} ${add}` : k;
}

/**
 * xCAT splitkcmdline: addkcmdline words prefixed `R::` are "persistent" (go into the installed
 * system's boot loader via #XCATVAR:PERSKCMDLINE#), the rest are for this boot only.
 */
export function splitAddKcmdline(...values: (string | undefined)[]): { persistent: string; volatile: string } {
  const persistent: string[] = [];
  const volatile: string[] = [];
  for (const v of values)
    for (const w of (v ?? "").split(/\s+/).filter(Boolean)) (w.startsWith("R::") ? persistent : volatile).push(w.startsWith("R::") ? w.slice(3) : w);
  return { persistent: persistent.join(" "), volatile: volatile.join(" ") };
}
