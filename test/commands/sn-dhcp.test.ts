import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKEND_INFO, findBinary } from "../../src/core/dhcp/backend";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { readNewc } from "../helpers/newc";
import { BIN, Sandbox } from "../helpers/sandbox";
import { servedBootDir } from "../helpers/sn-site";
import { Sshd } from "../helpers/sshd";

/**
 * DHCP on a service node (xCAT's disjointdhcps), with real parts: the MN is a sandbox site
 * behind a real sshd whose sessions run the MN's compiled xcimg, the SN runs the compiled
 * binary, and the real dnsmasq --test decides what the SN activates. The rendered files are
 * pinned by golden files (sandbox paths replaced by @SN@; UPDATE_GOLDEN=1 rewrites them).
 *
 * Networks: mgmt 10.9.0.0/24 (no dhcpserver: sn1's because its nodes live there), far
 * 10.8.0.0/24 (dhcpserver=sn2), spare 10.7.0.0/24 (dhcpserver=sn1, no nodes). cn01 and cn02
 * are sn1's (cn02 through a pool), cn03 is sn2's, cn04 the MN's own in sn1's subnet, cn05
 * sn1's but in sn2's subnet.
 */
const A = "snd-x86_64-netboot-compute";
const GOLDEN = join(import.meta.dir, "sn-dhcp", "golden");
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;

const haveDnsmasq = () => {
  const bin = findBinary(BACKEND_INFO.dnsmasq.binary);
  if (!bin && process.env.CI === "true") throw new Error("dnsmasq missing: apt-get install dnsmasq");
  return bin;
};
const snDhcpDir = () => join(sn.dir, "dhcp");

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

type Dhcp = { skipped?: string; disjoint: boolean; networks: string[]; nodes: string[]; written: string[]; removed: string[]; reload: string[] };
async function syncJson(extra: string[] = []) {
  const r = await sn.bin(["--json", "sn", "sync", ...extra]);
  let data: { dhcp?: Dhcp | null; problems?: string[]; failed?: Record<string, string> } = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // a crash prints no JSON
  }
  return { ...r, data };
}

function golden(name: string, file: string): void {
  const text = readFileSync(file, "utf8").replaceAll(sn.dir, "@SN@");
  const f = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(f)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(f, text);
  }
  expect(text).toBe(readFileSync(f, "utf8"));
}

const hostsOn = (dir: string) => (existsSync(join(dir, "dnsmasq-hosts.d")) ? readdirSync(join(dir, "dnsmasq-hosts.d")).sort() : []);

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snd-mn", '[dhcp]\ndir = "dhcp"');
  const a = await defineNetbootImage(mn, A, [], "snd");
  fakeKernels(a.rootimg);
  await ok(mn, "pack", A);
  await ok(mn, "table", "set", "networks", "net=10.9.0.0,mask=255.255.255.0", "netname=mgmt", "gateway=10.9.0.254", "mgtifname=lo", "tftpserver=<xcatmaster>");
  await ok(mn, "table", "set", "networks", "net=10.8.0.0,mask=255.255.255.0", "netname=far", "dhcpserver=sn2");
  await ok(mn, "table", "set", "networks", "net=10.7.0.0,mask=255.255.255.0", "netname=spare", "dhcpserver=sn1");
  await ok(mn, "table", "set", "site", "key=dhcpbackend", "value=dnsmasq");
  await ok(mn, "table", "set", "site", "key=dhcpinterfaces", "value=lo");
  await ok(mn, "table", "set", "servicenode", "node=sn1", "dhcpserver=1");
  const node = (n: string, ip: string, ...attrs: string[]) =>
    ok(mn, "node", "set", n, "groups=compute,all", `mac=52:54:00:bb:00:${n.slice(-2)}`, `ip=${ip}`, "netboot=xnba", ...attrs);
  await node("cn01", "10.9.0.11", "servicenode=sn1", "xcatmaster=sn1");
  await node("cn02", "10.9.0.12", "servicenode=sn2,sn1");
  await node("cn03", "10.8.0.13", "servicenode=sn2");
  await node("cn04", "10.9.0.14");
  await node("cn05", "10.8.0.15", "servicenode=sn1");
  // the MN's own node in sn1's subnet without a MAC: a warning on the SN, not sn1's failure
  await ok(mn, "node", "set", "cn06", "groups=compute,all", "ip=10.9.0.16");
  await ok(mn, "boot", "cn01,cn02,cn03,cn04,cn05", "-o", A);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("snd-sn", '[dhcp]\ndir = "dhcp"');
  const snToml = [
    `[ssh]`,
    `identity = "${sshd.clientKey}"`,
    `[sn]`,
    `mn = "127.0.0.1"`,
    `mn_port = ${sshd.port}`,
    `known_hosts = "${sshd.knownHosts}"`,
    `name = "sn1"`,
    `remote_xcimg = "${BIN}"`,
  ].join("\n");
  writeFileSync(sn.config, `${readFileSync(sn.config, "utf8").replace('master = "10.0.2.2"', 'master = "10.9.0.1"')}\n${snToml}\n`);
}, 120000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync: DHCP on the service node", () => {
  test("--dry-run lists the SN's networks and nodes and writes nothing", async () => {
    if (!haveDnsmasq()) return;
    const r = await syncJson(["--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    // without disjointdhcps: every node in the SN's subnets (xCAT's default), cn04 too; not cn03/cn05 (sn2's subnet)
    expect(r.data.dhcp).toMatchObject({ disjoint: false, networks: ["spare", "mgmt"], nodes: ["cn01", "cn02", "cn04", "cn06"] });
    expect(existsSync(snDhcpDir())).toBe(false);
    const text = await sn.bin(["sn", "sync", "--dry-run"]);
    expect(text.stdout).toContain("dhcp: would declare spare, mgmt");
    expect(text.stdout).toContain("cn04: would get a DHCP entry on this SN");
  }, 60000);

  test("sync writes the checked configuration, loaders' scripts and entries, pointing at the SN", async () => {
    if (!haveDnsmasq()) return;
    const r = await syncJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.data.dhcp?.nodes).toEqual(["cn01", "cn02", "cn04", "cn06"]);
    expect(r.stderr).toContain("cn06: no DHCP entry on this SN: No MAC address");
    expect(r.data.failed).toEqual({});
    const conf = join(snDhcpDir(), "dnsmasq.conf");
    golden("dnsmasq.conf", conf);
    golden("host-cn01", join(snDhcpDir(), "dnsmasq-hosts.d", "cn01"));
    const text = readFileSync(conf, "utf8");
    // next-server is the SN (config master), never the MN's 10.0.2.2; sn2's subnet is not declared
    expect(text).toContain("xcat/xnba/bymac,,10.9.0.1");
    expect(text).not.toContain("10.0.2.2");
    expect(text).not.toContain("10.8.0.0");
    expect(hostsOn(snDhcpDir())).toEqual(["cn01", "cn02", "cn04"]);
    // the MAC-chain script (it chains from ${next-server}: the SN) and the MAC links live in the SN's tftpdir
    expect(readFileSync(join(sn.tftpdir, "xcat", "xnba", "bymac"), "utf8")).toContain(`http://\${next-server}/tftpboot/xcat/xnba/mac/`);
    expect(readlinkSync(join(sn.tftpdir, "xcat", "xnba", "mac", "52-54-00-bb-00-01"))).toBe("../nodes/cn01");
    // what is active passes dnsmasq's own check
    const check = Bun.spawnSync([haveDnsmasq() as string, "--test", "-C", conf]);
    expect(check.exitCode).toBe(0);
  }, 60000);

  test("site.disjointdhcps=1: the SN lists only its own nodes; the MN's dhcp -a leaves them out", async () => {
    if (!haveDnsmasq()) return;
    await ok(mn, "table", "set", "site", "key=disjointdhcps", "value=1");
    const r = await syncJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.data.dhcp).toMatchObject({ disjoint: true, nodes: ["cn01", "cn02"], removed: ["cn04"] });
    expect(hostsOn(snDhcpDir())).toEqual(["cn01", "cn02"]);
    golden("host-cn02", join(snDhcpDir(), "dnsmasq-hosts.d", "cn02"));
    await ok(mn, "dhcp", "-n");
    const a = await mn.run("--json", "dhcp", "-a");
    // cn06 has no MAC: the MN's own node fails there, as it would without service nodes
    expect(a.code, a.stderr).toBe(1);
    expect(Object.keys(JSON.parse(a.stdout).failed)).toEqual(["cn06"]);
    expect(JSON.parse(a.stdout).leftToSn).toEqual({ sn1: ["cn01", "cn02", "cn05"], sn2: ["cn02", "cn03"] });
    expect(hostsOn(join(mn.dir, "dhcp"))).toEqual(["cn04"]);
  }, 60000);

  test("a configuration dnsmasq refuses is not activated: exit 1, the previous one stays", async () => {
    if (!haveDnsmasq()) return;
    const conf = join(snDhcpDir(), "dnsmasq.conf");
    const before = readFileSync(conf, "utf8");
    // a dynamic range outside its subnet: dnsmasq --test says "inconsistent DHCP range"
    await ok(mn, "table", "set", "networks", "net=10.9.0.0,mask=255.255.255.0", "dynamicrange=10.9.0.100-10.9.1.200");
    const r = await syncJson();
    expect(r.code).toBe(1);
    expect(r.data.problems?.join("\n")).toContain("DHCP not updated");
    expect(readFileSync(conf, "utf8")).toBe(before);
    expect(hostsOn(snDhcpDir())).toEqual(["cn01", "cn02"]);
  }, 60000);
});

describe("two SNs of a pool", () => {
  test("render cn02's boot files alike, file by file, up to their own address", async () => {
    const sn2 = new Sandbox("snd-sn2");
    try {
      const toml = readFileSync(sn.config, "utf8")
        .replaceAll(sn.dir, sn2.dir)
        .replace('master = "10.9.0.1"', 'master = "10.9.0.2"')
        .replace('name = "sn1"', 'name = "sn2"');
      writeFileSync(sn2.config, toml);
      const r = await sn2.bin(["--json", "sn", "sync"]);
      expect(r.code, r.stderr).toBe(0);
      // one generation on both: its id comes from the files' names, sizes and mtimes, not from either SN
      const gen = servedBootDir(sn, A);
      expect(servedBootDir(sn2, A)).toBe(gen);
      const files = [
        "xcat/xnba/nodes/cn02",
        "xcat/xnba/nodes/cn02.uefi",
        "xcat/overlay/cn02.cpio",
        `${gen}/rootimg.cpio.gz`,
        `${gen}/kernel`,
        `${gen}/initrd-stateless.gz`,
      ];
      // each SN's own address and directories are its own; everything else must be the same
      const text = (sb: Sandbox, addr: string, b: Buffer) =>
        b
          .toString("latin1")
          .replaceAll(sb.dir, "@SN@")
          .replace(new RegExp(`${addr.replaceAll(".", "\\.")}(?![0-9])`, "g"), "@ADDR@");
      const norm = (sb: Sandbox, addr: string, f: string) => {
        const b = readFileSync(join(sb.tftpdir, f));
        if (!f.endsWith(".cpio")) return text(sb, addr, b);
        return readNewc(b)
          .map((e) => `${e.name.toString()}\n${text(sb, addr, e.data)}`)
          .join("\n--\n");
      };
      // sn1's files are from the tests above (this file's tests run in order)
      const present = files.filter((f) => existsSync(join(sn.tftpdir, f)));
      expect(present).toEqual(expect.arrayContaining(["xcat/xnba/nodes/cn02", "xcat/overlay/cn02.cpio", `${gen}/rootimg.cpio.gz`, `${gen}/kernel`]));
      for (const f of present) expect(norm(sn2, "10.9.0.2", f), f).toBe(norm(sn, "10.9.0.1", f));
    } finally {
      sn2.cleanup();
    }
  }, 60000);
});
