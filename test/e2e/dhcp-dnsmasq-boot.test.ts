import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DhcpNetns, dhcpNetns, NS_NET } from "../helpers/dhcp-netns";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";

/**
 * The real chain, no qemu DHCP or TFTP: in a network namespace of its own, Debian's dnsmasq
 * serves DHCP and TFTP with the configuration `xcimg dhcp -n` and `xcimg dhcp cn01` wrote,
 * nginx serves /tftpboot and /install as docs/boot.md configures it, and a qemu BIOS node on
 * a tap (SeaBIOS + qemu's iPXE ROM) gets its reserved address, TFTP-loads xcat/xnba/bymac,
 * chains its MAC-keyed link to the xnba file `xcimg boot` wrote and comes up as cn01. A MAC
 * dnsmasq does not know gets nothing; after `dhcp -d --reload` neither does cn01's.
 */
let site: NetbootSite;
let ns: DhcpNetns;
const MAC = "52:54:00:12:34:01";
const IP = "10.99.0.11";

beforeAll(async () => {
  site = await netbootSite("dhcp-boot");
  ns = dhcpNetns(site.sb.dir);
  const cfg = site.sb.config;
  // the MN's address is its bridge address in the namespace; the reload signals our dnsmasq
  writeFileSync(
    cfg,
    `${readFileSync(cfg, "utf8").replace('master = "10.0.2.2"', `master = "${NS_NET.mn}"`)}[dhcp]\ndir = "dhcp"\nreload = "kill -HUP $(cat ${join(site.sb.dir, "dnsmasq.pid")})"\n`,
  );
});
afterAll(() => {
  ns?.cleanup();
  site?.cleanup();
});

describe("DHCP + TFTP from dnsmasq, HTTP from nginx, in a namespace", () => {
  test("a BIOS node PXE-boots through the MAC-keyed chain with its reserved address; unknown and removed MACs get nothing", async () => {
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
    await ok("node", "set", "cn01", "groups=compute,all", "netboot=xnba", "arch=x86_64", `mac=${MAC}`, `ip=${IP}`, "serialport=0", "serialspeed=115200");
    await ok("node", "set", "cn02", "groups=compute,all", "mac=52:54:00:12:34:02", "ip=10.99.0.12");
    await ok("boot", "cn01", "-o", image);
    await ok("dhcp", "-n");
    await ok("dhcp", "cn01,cn02");
    await ns.startDnsmasq(join(sb.dir, "dhcp", "dnsmasq.conf"));
    await ns.startNginx(site.server.port, sb.tftpdir, sb.installdir);

    // DHCP alone first: a reserved MAC gets its address, an unknown one nothing
    expect(ns.probe("52:54:00:12:34:02")).toBe("10.99.0.12");
    expect(ns.probe("52:54:00:12:34:99")).toBeNull();
    expect(ns.dnsmasqLog()).toMatch(/52:54:00:12:34:99 ignored/);

    const vm = await ns.boot({ mac: MAC, until: /xcimg-node: [^\r\n]*[\r\n]/, timeoutMs: 150000 });
    console.log(`dnsmasq + nginx boot (iPXE, BIOS): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}\n--- dnsmasq\n${ns.dnsmasqLog().slice(-3000)}\n--- nginx\n${ns.nginxLog()}`);
    expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-node: hostname=cn01 root=tmpfs ip=${IP.replaceAll(".", "\\.")}/24\\s$`));
    const log = ns.dnsmasqLog();
    expect(log).toContain(`DHCPACK(${NS_NET.bridge}) ${IP} ${MAC} cn01`);
    expect(log).toMatch(/sent .*xcat\/xnba\/bymac to 10\.99\.0\.11/);
    const fetched = ns.nginxLog();
    expect(fetched).toContain("GET /tftpboot/xcat/xnba/mac/52-54-00-12-34-01 HTTP");
    expect(fetched).toContain(`GET /tftpboot/xcat/osimage/${image}/kernel HTTP`);
    expect(fetched).toContain("GET /tftpboot/xcat/overlay/cn01.cpio HTTP");

    // removed: dnsmasq forgets the MAC after the SIGHUP --reload sends
    await ok("dhcp", "-d", "cn02", "--reload");
    await Bun.sleep(500);
    expect(ns.probe("52:54:00:12:34:02")).toBeNull();
    expect(ns.dnsmasqLog()).toMatch(/52:54:00:12:34:02 ignored/);
  }, 240000);
});
