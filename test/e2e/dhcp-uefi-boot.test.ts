import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DhcpNetns, dhcpNetns, NS_NET } from "../helpers/dhcp-netns";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";
import { OVMF_CODE, OVMF_MS_VARS } from "../helpers/qemu";

/**
 * The real chain on x86-64 UEFI (issue #16): OVMF from Debian's ovmf package, its own PXE
 * client (the NIC has no iPXE option ROM), DHCP + TFTP from dnsmasq with the configuration
 * `xcimg dhcp` wrote, HTTP from nginx. OVMF asks with option 93 = 7 and gets xcat/xnba.efi —
 * Debian's ipxe.efi as `xcimg dhcp -n` published it; that iPXE asks again with user-class
 * iPXE, gets xcat/xnba/bymac.uefi, chains the node's MAC link to the .uefi file `xcimg boot`
 * wrote and starts the kernel through its EFI stub, which loads the initrds end to end (the
 * reason for src/core/boot/initrd-align.ts: before it, one pack in four lost the overlay).
 * Then, with site.dhcpuefiloader=grub2, a node with Secure Boot enforced (OVMF secboot,
 * Microsoft's keys) gets shimx64.efi for the same option 93: Debian's shim-signed and signed
 * netboot GRUB as `xcimg boot` published them from the installed packages, GRUB reading the
 * grub/grub.cfg xcimg wrote, which sends it to the node's grub.cfg-01-<mac>.
 */
let site: NetbootSite;
let ns: DhcpNetns;
const MAC = "52:54:00:12:34:07";
const IP = "10.99.0.17";

beforeAll(async () => {
  if (!existsSync(OVMF_CODE)) throw new Error(`${OVMF_CODE} missing: apt-get install ovmf (scripts/setup-debian.sh)`);
  site = await netbootSite("dhcp-uefi");
  ns = dhcpNetns(site.sb.dir);
  const cfg = site.sb.config;
  writeFileSync(cfg, `${readFileSync(cfg, "utf8").replace('master = "10.0.2.2"', `master = "${NS_NET.mn}"`)}[dhcp]\ndir = "dhcp"\n`);
});
afterAll(() => {
  ns?.cleanup();
  site?.cleanup();
});

describe("UEFI through DHCP: OVMF PXE → ipxe.efi → the node's MAC-keyed iPXE script", () => {
  test("an x86-64 UEFI node gets xcat/xnba.efi for option 93 = 7 and reaches userspace with its reserved address", async () => {
    const { sb, image } = site;
    const ok = async (...a: string[]) => {
      const r = await sb.run(...a);
      expect(r.code, `${a.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    await ok("pack", image);
    await ok("table", "set", "networks", `net=${NS_NET.net},mask=${NS_NET.mask}`, "netname=prov", `mgtifname=${NS_NET.bridge}`, `gateway=${NS_NET.mn}`);
    await ok("table", "set", "site", "key=dhcpinterfaces", `value=${NS_NET.bridge}`);
    await ok("table", "set", "site", "key=dhcpbackend", "value=dnsmasq");
    await ok("node", "set", "cn07", "groups=compute,all", "netboot=xnba", "arch=x86_64", `mac=${MAC}`, `ip=${IP}`, "serialport=0", "serialspeed=115200");
    await ok("boot", "cn07", "-o", image);
    // the UEFI script exists only for a kernel with an EFI stub (the Debian kernel has one)
    expect(readFileSync(join(sb.tftpdir, "xcat/xnba/nodes/cn07.uefi"), "utf8")).toContain(" initrd=");
    // the EFI stub puts initrd= files end to end: the overlay cpio must start on a 4-byte
    // boundary (src/core/boot/initrd-align.ts), whatever size this pack happened to have
    const pub = join(sb.tftpdir, "xcat/osimage", image);
    const packed = statSync(join(pub, "rootimg.cpio.gz")).size;
    console.log(`packed image ${packed} bytes (${packed % 4} past a 4-byte boundary)`);
    expect((packed + statSync(join(pub, "initrd-stateless.gz")).size) % 4).toBe(0);
    const base = await ok("dhcp", "-n");
    expect(base.stderr).not.toContain("xcat/xnba.efi");
    expect(readFileSync(join(sb.tftpdir, "xcat/xnba.efi"))).toEqual(readFileSync("/usr/lib/ipxe/ipxe.efi"));
    await ok("dhcp", "cn07");
    await ns.startDnsmasq(join(sb.dir, "dhcp", "dnsmasq.conf"));
    await ns.startNginx(site.server.port, sb.tftpdir, sb.installdir);

    const vm = await ns.boot({ mac: MAC, firmware: "uefi", nicRom: false, until: /xcimg-node: [^\r\n]*[\r\n]/, timeoutMs: 150000 });
    console.log(`dnsmasq + nginx boot (OVMF PXE → ipxe.efi, UEFI): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}\n--- dnsmasq\n${ns.dnsmasqLog().slice(-3000)}\n--- nginx\n${ns.nginxLog()}`);
    expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-node: hostname=cn07 root=tmpfs ip=${IP.replaceAll(".", "\\.")}/24\\s$`));
    const log = ns.dnsmasqLog();
    // first OVMF (arch 7, no iPXE user-class), then the iPXE it loaded
    expect(log).toMatch(/sent .*\/xcat\/xnba\.efi to 10\.99\.0\.17/);
    expect(log).toMatch(/sent .*\/xcat\/xnba\/bymac\.uefi to 10\.99\.0\.17/);
    expect(log).not.toMatch(/sent .*\/xcat\/xnba\.kpxe to/);
    const fetched = ns.nginxLog();
    expect(fetched).toContain("GET /tftpboot/xcat/xnba/mac/52-54-00-12-34-07.uefi HTTP");
    expect(fetched).toContain(`GET /tftpboot/xcat/osimage/${image}/kernel HTTP`);
    expect(fetched).toContain("GET /tftpboot/xcat/overlay/cn07.cpio HTTP");
  }, 240000);

  test("dhcpuefiloader=grub2: a Secure Boot node gets shimx64.efi, then the signed GRUB xcimg published, and boots its grub2 file", async () => {
    const { sb, image } = site;
    const ok = async (...a: string[]) => {
      const r = await sb.run(...a);
      expect(r.code, `${a.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    const mac = "52:54:00:12:34:08";
    const ip = "10.99.0.18";
    await ok("table", "set", "site", "key=dhcpuefiloader", "value=grub2");
    // GRUB loads the overlay over TFTP, and dnsmasq running as root (as here) serves only
    // world-readable files (dnsmasq(8), --tftp-secure): xCAT's 0644 (docs/boot.md)
    await ok("table", "set", "site", "key=webgroup", "value=world");
    await ok("node", "set", "cn08", "groups=compute,all", "netboot=grub2", "arch=x86_64", `mac=${mac}`, `ip=${ip}`, "serialport=0", "serialspeed=115200");
    // boot, not dhcp -n, publishes the chain: the packages' files under the names the rule gives
    const booted = await ok("boot", "cn08", "-o", image);
    expect(booted.stderr).not.toContain("first-stage loaders");
    expect(readFileSync(join(sb.tftpdir, "shimx64.efi"))).toEqual(readFileSync("/usr/lib/shim/shimx64.efi.signed"));
    expect(readFileSync(join(sb.tftpdir, "grubx64.efi"))).toEqual(readFileSync("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"));
    await ok("dhcp", "-n");
    await ok("dhcp", "cn08");
    expect(readFileSync(join(sb.dir, "dhcp", "dnsmasq.conf"), "utf8")).toContain("tag:arch-7,shimx64.efi,");
    await ns.stopDnsmasq(); // a changed dnsmasq.conf needs a restart (docs/dhcp.md)
    await ns.startDnsmasq(join(sb.dir, "dhcp", "dnsmasq.conf"));

    const vars = join(sb.dir, "cn08-vars.fd");
    copyFileSync(OVMF_MS_VARS, vars);
    const until = /xcimg-node: [^\r\n]*[\r\n]|bad shim signature|Verification failed|Kernel panic|grub> /;
    const vm = await ns.boot({ mac, secureBootVars: vars, until, timeoutMs: 200000 });
    console.log(`dnsmasq boot (Secure Boot: OVMF PXE → shim → signed GRUB over TFTP): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match?.[0].startsWith("xcimg-node")) console.log(`${vm.exit}\n${vm.console.slice(-4000)}\n--- dnsmasq\n${ns.dnsmasqLog().slice(-3000)}`);
    expect(vm.console).toContain("Secure boot enabled");
    expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-node: hostname=cn08 root=tmpfs ip=${ip.replaceAll(".", "\\.")}/24\\s$`));
    const log = ns.dnsmasqLog();
    for (const f of ["shimx64.efi", "grubx64.efi", "grub/grub.cfg", "boot/grub2/grub.cfg-01-52-54-00-12-34-08", `xcat/osimage/${image}/kernel`])
      expect(log, f).toMatch(new RegExp(`sent \\S*/${f.replaceAll(".", "\\.")} to ${ip.replaceAll(".", "\\.")}`));
  }, 300000);
});
