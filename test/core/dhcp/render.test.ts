import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKEND_INFO, findBinary } from "../../../src/core/dhcp/backend";
import type { DhcpModel } from "../../../src/core/dhcp/model";
import { parseNetwork } from "../../../src/core/dhcp/networks";
import { dhcpdConf, dhcpdHosts, parseDhcpdHosts } from "../../../src/core/dhcp/render-dhcpd";
import { dnsmasqConf, dnsmasqHostFile, parseDnsmasqHostFile } from "../../../src/core/dhcp/render-dnsmasq";
import { keaConf, parseKeaHosts } from "../../../src/core/dhcp/render-kea";
import type { Backend, DhcpSettings } from "../../../src/core/dhcp/settings";

/**
 * Each backend's rendering of one model, pinned by golden files (UPDATE_GOLDEN=1 rewrites
 * them), and each rendered file checked by the server's own checker: dnsmasq --test,
 * kea-dhcp4 -t, dhcpd -t. Under CI=true a missing server is a failure, not a skip.
 */
const GOLDEN = join(import.meta.dir, "golden");
const settings: DhcpSettings = {
  backend: "auto",
  interfaces: ["eth1"],
  lease: 43200,
  domain: "cluster.test",
  nameservers: ["10.0.0.1"],
  biosLoader: "xnba",
  uefiLoader: "xnba",
  master: "10.0.0.1",
  httpPort: 80,
  tftpdir: "/tftpboot",
};
const mgmt = parseNetwork({
  netname: "mgmt",
  net: "10.0.0.0",
  mask: "255.255.255.0",
  mgtifname: "eth1",
  gateway: "10.0.0.254",
  ntpservers: "10.0.0.1",
  mtu: "9000",
});
const disc = parseNetwork({
  netname: "discovery",
  net: "10.1.0.0",
  mask: "16",
  tftpserver: "10.1.0.2",
  nameservers: "10.1.0.2,10.1.0.3",
  domain: "disc.test",
  dynamicrange: "10.1.200.1-10.1.200.254",
});
const hosts = [
  { node: "cn01", mac: "52:54:00:12:34:01", ip: "10.0.0.11", hostname: "cn01" },
  { node: "cn02", mac: "52:54:00:12:34:02", ip: "10.0.0.12", hostname: "cn02" },
  { node: "cn02", mac: "52:54:00:12:34:12", hostname: "cn02" },
  { node: "cn03", mac: "52:54:00:12:34:03", ip: "10.1.0.13", hostname: "cn03" },
];
const model = (dir: string, extra: Partial<DhcpModel> = {}): DhcpModel => ({ settings, networks: [mgmt, disc], hosts, dir, ...extra });

function golden(name: string, text: string): void {
  const f = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(f)) writeFileSync(f, text);
  expect(text).toBe(readFileSync(f, "utf8"));
}

function checker(b: Backend): string | null {
  const bin = findBinary(BACKEND_INFO[b].binary);
  if (!bin && process.env.CI === "true")
    throw new Error(`${BACKEND_INFO[b].binary} is not installed (apt-get install ${BACKEND_INFO[b].package}); CI must run this check`);
  return bin;
}

function check(b: Backend, file: string): { code: number; out: string } {
  const bin = checker(b) as string;
  const r = Bun.spawnSync(BACKEND_INFO[b].check(bin, file), { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

describe("rendered configurations", () => {
  test("dnsmasq: golden base file and host file, accepted by dnsmasq --test", () => {
    const dir = mkdtempSync(join(tmpdir(), "xcimg-dhcp-render-"));
    try {
      const conf = dnsmasqConf(model("/etc/xcimg/dhcp"));
      golden("dnsmasq.conf", conf);
      golden("dnsmasq-host-cn02", dnsmasqHostFile(hosts.filter((h) => h.node === "cn02")));
      expect(parseDnsmasqHostFile("cn02", dnsmasqHostFile(hosts.filter((h) => h.node === "cn02")))).toEqual(hosts.filter((h) => h.node === "cn02"));
      golden("dnsmasq-proxy.conf", dnsmasqConf(model("/etc/xcimg/dhcp", { proxy: true })));
      if (!checker("dnsmasq")) return;
      for (const [name, text] of [
        ["base", conf],
        ["proxy", dnsmasqConf(model(dir, { proxy: true }))],
        ["hosts", `port=0\n${hosts.map((h) => `dhcp-host=${dnsmasqHostFile([h])}`).join("")}`],
      ]) {
        writeFileSync(join(dir, `${name}.conf`), text as string);
        const r = check("dnsmasq", join(dir, `${name}.conf`));
        expect(r.code, `${name}: ${r.out}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("kea: golden kea-dhcp4.conf with reservations in their subnets, accepted by kea-dhcp4 -t", () => {
    const dir = mkdtempSync(join(tmpdir(), "xcimg-dhcp-render-"));
    try {
      const conf = keaConf(model("/etc/xcimg/dhcp"));
      golden("kea-dhcp4.conf", conf);
      const parsed = JSON.parse(conf).Dhcp4;
      expect(parsed.subnet4.map((s: { subnet: string; reservations: unknown[] }) => [s.subnet, s.reservations.length])).toEqual([
        ["10.0.0.0/24", 2],
        ["10.1.0.0/16", 1],
      ]);
      // *NOIP* MACs have no place among Kea's address reservations
      expect(parseKeaHosts(conf)).toEqual(hosts.filter((h) => h.ip));
      if (!checker("kea")) return;
      // kea-dhcp4 -t also checks that the interfaces exist: it refuses eth1 on a machine without one
      writeFileSync(join(dir, "kea.conf"), conf);
      expect(check("kea", join(dir, "kea.conf")).out).toMatch(/eth1|interface/);
      writeFileSync(join(dir, "kea.conf"), keaConf({ ...model(dir), settings: { ...settings, interfaces: ["lo"] } }));
      const r = check("kea", join(dir, "kea.conf"));
      expect(r.code, r.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("dhcpd: golden dhcpd.conf and host include, accepted by dhcpd -t -cf", () => {
    const dir = mkdtempSync(join(tmpdir(), "xcimg-dhcp-render-"));
    try {
      golden("dhcpd.conf", dhcpdConf(model("/etc/xcimg/dhcp")));
      const inc = dhcpdHosts(hosts);
      golden("dhcpd.hosts", inc);
      expect(parseDhcpdHosts(inc)).toEqual(hosts);
      if (!checker("dhcpd")) return;
      writeFileSync(join(dir, "dhcpd.hosts"), inc);
      writeFileSync(join(dir, "dhcpd.conf"), dhcpdConf(model(dir)));
      const r = check("dhcpd", join(dir, "dhcpd.conf"));
      expect(r.code, r.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a dynamic range outside its subnet is caught by each server's own checker", () => {
    const bad = { ...disc, dynamic: ["10.1.200.1", "10.2.0.9"] as [string, string] };
    const dir = mkdtempSync(join(tmpdir(), "xcimg-dhcp-render-"));
    try {
      const m = model(dir, { networks: [mgmt, bad], settings: { ...settings, interfaces: ["lo"] } });
      const files: [Backend, string][] = [
        ["dnsmasq", dnsmasqConf(m)],
        ["kea", keaConf(m)],
        ["dhcpd", dhcpdConf(m)],
      ];
      writeFileSync(join(dir, "dhcpd.hosts"), dhcpdHosts(hosts));
      for (const [b, text] of files) {
        if (!checker(b)) continue;
        writeFileSync(join(dir, `${b}.conf`), text);
        expect(check(b, join(dir, `${b}.conf`)).code, b).not.toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
