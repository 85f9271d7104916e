import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKEND_INFO, findBinary } from "../../src/core/dhcp/backend";
import { type DhcpNetns, dhcpNetns, NS_NET } from "../helpers/dhcp-netns";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";

/**
 * The chain of test/e2e/dhcp-dnsmasq-boot.test.ts with ISC Kea as the DHCP server (issue #16):
 * kea-dhcp4 from Debian on the kea-dhcp4.conf `xcimg dhcp` wrote, dnsmasq as a TFTP-only
 * server (DHCP and DNS off), nginx for HTTP. xcimg runs inside the namespace, as on a
 * management node, because `kea-dhcp4 -t` — which every write goes through before it is
 * renamed into place — checks that site.dhcpinterfaces exist. A configuration that fails
 * Kea's check is never activated: the running server keeps answering from the old one.
 */
let site: NetbootSite;
let ns: DhcpNetns;
const MAC = "52:54:00:12:34:01";
const IP = "10.99.0.11";

beforeAll(async () => {
  if (!findBinary(BACKEND_INFO.kea.binary)) throw new Error(`kea-dhcp4 missing: apt-get install ${BACKEND_INFO.kea.package} (scripts/setup-debian.sh)`);
  site = await netbootSite("dhcp-kea");
  ns = dhcpNetns(site.sb.dir);
  const cfg = site.sb.config;
  writeFileSync(
    cfg,
    `${readFileSync(cfg, "utf8").replace('master = "10.0.2.2"', `master = "${NS_NET.mn}"`)}[dhcp]\ndir = "dhcp"\nreload = "kill -HUP $(cat ${join(site.sb.dir, "kea.pid")})"\n`,
  );
});
afterAll(() => {
  ns?.cleanup();
  site?.cleanup();
});

describe("DHCP from Kea, TFTP from dnsmasq (DHCP off), HTTP from nginx, in a namespace", () => {
  test("a BIOS node PXE-boots with its reserved address; a failed kea-dhcp4 -t changes nothing; a removed MAC gets nothing", async () => {
    const { sb, image } = site;
    const ok = async (...a: string[]) => {
      const r = await sb.run(...a);
      expect(r.code, `${a.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    const inNs = async (...a: string[]) => {
      const r = await ns.xcimg(sb, ...a);
      expect(r.code, `${a.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    await ok("pack", image);
    await ok("table", "set", "networks", `net=${NS_NET.net},mask=${NS_NET.mask}`, "netname=prov", `mgtifname=${NS_NET.bridge}`, `gateway=${NS_NET.mn}`);
    await ok("table", "set", "site", "key=dhcpinterfaces", `value=${NS_NET.bridge}`);
    await ok("table", "set", "site", "key=dhcpbackend", "value=kea");
    await ok("node", "set", "cn01", "groups=compute,all", "netboot=xnba", "arch=x86_64", `mac=${MAC}`, `ip=${IP}`, "serialport=0", "serialspeed=115200");
    await ok("node", "set", "cn02", "groups=compute,all", "mac=52:54:00:12:34:02", "ip=10.99.0.12");
    await ok("boot", "cn01", "-o", image);
    await inNs("dhcp", "-n");
    await inNs("dhcp", "cn01,cn02");
    const conf = join(sb.dir, "dhcp", "kea-dhcp4.conf");
    await ns.startTftp(sb.tftpdir);
    await ns.startKea(conf);
    await ns.startNginx(site.server.port, sb.tftpdir, sb.installdir);

    // DHCP alone: a reserved MAC gets its address, an unknown one nothing (no pool)
    expect(ns.probe("52:54:00:12:34:02")).toBe("10.99.0.12");
    expect(ns.probe("52:54:00:12:34:99")).toBeNull();

    // an interface Kea cannot open: its checker refuses, the file and the running server stay
    const before = readFileSync(conf, "utf8");
    await ok("table", "set", "site", "key=dhcpinterfaces", "value=xcnosuch0");
    const bad = await ns.xcimg(sb, "dhcp", "-n", "--reload");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/the new kea configuration failed \S*kea-dhcp4's check, nothing was changed/);
    // Kea's message names the file it checked: the staged temporary, not the live file
    expect(bad.stderr).toMatch(/interface 'xcnosuch0' doesn't exist in the system \(\S*\/\.kea-dhcp4\.conf\.xcimg-tmp\./);
    expect(bad.stderr).not.toContain("kill -HUP");
    expect(readFileSync(conf, "utf8")).toBe(before);
    expect(ns.probe("52:54:00:12:34:02")).toBe("10.99.0.12");
    await ok("table", "set", "site", "key=dhcpinterfaces", `value=${NS_NET.bridge}`);

    const vm = await ns.boot({ mac: MAC, until: /xcimg-node: [^\r\n]*[\r\n]/, timeoutMs: 150000 });
    console.log(`Kea + dnsmasq TFTP + nginx boot (iPXE, BIOS): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match)
      console.log(
        `${vm.exit}\n${vm.console.slice(-3000)}\n--- kea\n${ns.keaLog().slice(-3000)}\n--- dnsmasq\n${ns.dnsmasqLog().slice(-2000)}\n--- nginx\n${ns.nginxLog()}`,
      );
    expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-node: hostname=cn01 root=tmpfs ip=${IP.replaceAll(".", "\\.")}/24\\s$`));
    expect(ns.keaLog()).toMatch(new RegExp(`DHCP4_LEASE_ALLOC \\[hwtype=1 ${MAC}\\].*lease ${IP.replaceAll(".", "\\.")} has been allocated`));
    expect(ns.dnsmasqLog()).toMatch(/sent .*xcat\/xnba\/bymac to 10\.99\.0\.11/);
    const fetched = ns.nginxLog();
    expect(fetched).toContain("GET /tftpboot/xcat/xnba/mac/52-54-00-12-34-01 HTTP");
    expect(fetched).toContain(`GET /tftpboot/xcat/osimage/${image}/kernel HTTP`);
    expect(fetched).toContain("GET /tftpboot/xcat/overlay/cn01.cpio HTTP");

    // removed: the file is rewritten (checked first), --reload's SIGHUP makes Kea reread it
    await inNs("dhcp", "-d", "cn02", "--reload");
    await Bun.sleep(1000);
    expect(ns.probe("52:54:00:12:34:02")).toBeNull();
  }, 240000);

  test("the same BIOS node PXE-boots from ISC dhcpd on the files xcimg dhcp wrote for it", async () => {
    const { sb } = site;
    const ok = async (...a: string[]) => {
      const r = await sb.run(...a);
      expect(r.code, `${a.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    if (!findBinary(BACKEND_INFO.dhcpd.binary)) throw new Error(`dhcpd missing: apt-get install ${BACKEND_INFO.dhcpd.package} (scripts/setup-debian.sh)`);
    // Kea off the bridge: one DHCP server answers (dnsmasq's TFTP and nginx stay)
    const kea = ns.keaPid();
    process.kill(kea, "SIGTERM");
    for (let i = 0; i < 100 && existsSync(`/proc/${kea}`); i++) await Bun.sleep(100);
    await ok("table", "set", "site", "key=dhcpbackend", "value=dhcpd");
    await ok("dhcp", "-n");
    await ok("dhcp", "cn01");
    const dir = join(sb.dir, "dhcp");
    expect(readFileSync(join(dir, "dhcpd.hosts"), "utf8")).toContain(
      `host cn01 { hardware ethernet ${MAC}; fixed-address ${IP}; option host-name "cn01"; } # node cn01`,
    );
    await ns.startDhcpd(join(dir, "dhcpd.conf"));
    expect(ns.probe("52:54:00:12:34:99")).toBeNull(); // deny unknown-clients

    const vm = await ns.boot({ mac: MAC, until: /xcimg-node: [^\r\n]*[\r\n]/, timeoutMs: 150000 });
    console.log(`ISC dhcpd + dnsmasq TFTP + nginx boot (iPXE, BIOS): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match)
      console.log(`${vm.exit}\n${vm.console.slice(-3000)}\n--- dhcpd\n${ns.dhcpdLog().slice(-3000)}\n--- dnsmasq\n${ns.dnsmasqLog().slice(-2000)}`);
    expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-node: hostname=cn01 root=tmpfs ip=${IP.replaceAll(".", "\\.")}/24\\s$`));
    // two DHCP rounds, both answered by dhcpd: the iPXE ROM's (filename xcat/xnba/bymac: it sends user-class iPXE)
    expect(ns.dhcpdLog()).toMatch(new RegExp(`DHCPACK on ${IP.replaceAll(".", "\\.")} to ${MAC} (\\(\\S+\\) )?via br0`));
    expect(ns.nginxLog().split("GET /tftpboot/xcat/overlay/cn01.cpio HTTP").length).toBe(3); // once per boot
  }, 240000);
});
