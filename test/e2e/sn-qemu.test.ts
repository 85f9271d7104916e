import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DhcpNetns, dhcpNetns, NS_NET } from "../helpers/dhcp-netns";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";
import { BIN, Sandbox } from "../helpers/sandbox";
import { servedBootDir } from "../helpers/sn-site";
import { freePort, Sshd } from "../helpers/sshd";

/**
 * A service node end to end, in three network namespaces the test creates:
 * - the MN's (10.98.0.1): a real sshd whose sessions run the MN's compiled xcimg on its site;
 * - the SN's (10.98.0.2 towards the MN, 10.99.0.1 towards its nodes): the compiled xcimg
 *   running `sn sync`, then Debian's dnsmasq on the DHCP configuration and TFTP root that sync
 *   wrote, and nginx on the SN's installdir and tftpdir;
 * - the nodes' network, bridged to the SN only: a qemu BIOS node PXE-boots (iPXE) the image
 *   the SN got through `sn sync` and nothing else. The MN's site has no web or TFTP server the
 *   node could reach.
 * Then the image changes on the MN and the node boots the change; then the MN's link goes
 * down, `sn sync` says so (exit 69) and the node still boots from the SN.
 */
const MN_ADDR = "10.98.0.1";
const SN_UP = "10.98.0.2";
const MAC = "52:54:00:12:35:01";
const IP = "10.99.0.21";
let site: NetbootSite;
let sn: Sandbox;
let ns: DhcpNetns;
let sshd: Sshd;
const mnNs = `xcimg-mn-${process.pid}`;

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

/** The image's root prints its generation before the node line the boot waits for. */
function setGeneration(rootimg: string, gen: string): void {
  writeFileSync(join(rootimg, "etc/xcimg-gen"), `${gen}\n`);
  const rcs = join(rootimg, "etc/init.d/rcS");
  const text = readFileSync(rcs, "utf8");
  if (!text.includes("xcimg-gen:")) writeFileSync(rcs, text.replace('echo "xcimg-node:', 'echo "xcimg-gen: $(cat /etc/xcimg-gen)"\necho "xcimg-node:'));
}

async function snSync() {
  const r = await ns.xcimg(sn, "--json", "sn", "sync");
  let data: { images?: { image: string; received: number; switched: boolean }[]; error?: { message: string } } = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // a crash prints no JSON: the assertions below show stderr
  }
  return { ...r, data };
}

async function bootNode() {
  const vm = await ns.boot({ mac: MAC, until: /xcimg-node: [^\r\n]*[\r\n]/, timeoutMs: 240_000 });
  if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}\n--- dnsmasq\n${ns.dnsmasqLog().slice(-3000)}\n--- nginx\n${ns.nginxLog()}`);
  expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-node: hostname=cn01 root=tmpfs ip=${IP.replaceAll(".", "\\.")}/24\\s$`));
  return vm;
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  site = await netbootSite("sn-qemu-mn");
  const { sb: mn, image } = site;
  const rootimg = join(site.dir, "rootimg");
  setGeneration(rootimg, "gen1");
  await ok(mn, "pack", image);
  await ok(mn, "table", "set", "networks", `net=${NS_NET.net},mask=${NS_NET.mask}`, "netname=nodes", `mgtifname=${NS_NET.bridge}`, "dhcpserver=sn1");
  await ok(mn, "table", "set", "site", "key=dhcpbackend", "value=dnsmasq");
  await ok(mn, "table", "set", "site", "key=dhcpinterfaces", `value=${NS_NET.bridge}`);
  await ok(mn, "table", "set", "servicenode", "node=sn1", "dhcpserver=1");
  // a pool-style node (no xcatmaster): its boot files name the SN's own address
  await ok(
    mn,
    "node",
    "set",
    "cn01",
    "groups=compute,all",
    "netboot=xnba",
    "arch=x86_64",
    `mac=${MAC}`,
    `ip=${IP}`,
    "serialport=0",
    "serialspeed=115200",
    "servicenode=sn1",
  );
  const boot = await ok(mn, "boot", "cn01", "-o", image);
  expect(boot.stderr).toContain("sn1");
  // the MN wrote nothing for cn01 into its own tftpdir: the SN serves it
  expect(existsSync(join(mn.tftpdir, "xcat", "xnba", "nodes", "cn01"))).toBe(false);

  execFileSync("ip", ["netns", "add", mnNs]);
  execFileSync("ip", ["-n", mnNs, "link", "set", "lo", "up"]);
  sn = new Sandbox("sn-qemu-sn", '[dhcp]\ndir = "dhcp"');
  ns = dhcpNetns(sn.dir, { nodes: true });
  ns.uplink(mnNs, SN_UP, MN_ADDR);
  sshd = await Sshd.start({ netns: mnNs, address: MN_ADDR, config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  const httpPort = await freePort();
  writeFileSync(
    sn.config,
    `${readFileSync(sn.config, "utf8").replace('master = "10.0.2.2"', `master = "${NS_NET.mn}"`)}
[http]
port = ${httpPort}
[ssh]
identity = "${sshd.clientKey}"
[sn]
mn = "${MN_ADDR}"
mn_port = ${sshd.port}
known_hosts = "${sshd.knownHosts}"
name = "sn1"
remote_xcimg = "${BIN}"
`,
  );
}, 180_000);

afterAll(async () => {
  await sshd?.stop();
  ns?.cleanup();
  try {
    execFileSync("ip", ["netns", "del", mnNs], { stdio: "ignore" });
  } catch {
    // not created
  }
  site?.cleanup();
  sn?.cleanup();
});

describe("a node boots from its service node, three namespaces", () => {
  let firstBytes = 0;
  let firstGen = "";

  test("sn sync pulls the image; dnsmasq and nginx on the SN boot the node", async () => {
    const r = await snSync();
    expect(r.code, r.stderr).toBe(0);
    const img = r.data.images?.find((i) => i.image === site.image);
    expect(img?.switched).toBe(true);
    firstBytes = img?.received ?? 0;
    const conf = join(sn.dir, "dhcp", "dnsmasq.conf");
    expect(readFileSync(conf, "utf8")).toContain(`tftp-root=${sn.tftpdir}`);
    await ns.startDnsmasq(conf);
    await ns.startNginx(Number(/port = (\d+)/.exec(readFileSync(sn.config, "utf8"))?.[1]), sn.tftpdir, sn.installdir);
    const vm = await bootNode();
    console.log(`node booted from the SN in ${vm.seconds.toFixed(1)} s; first sync received ${firstBytes} bytes`);
    expect(vm.console).toContain("xcimg-gen: gen1");
    expect(ns.dnsmasqLog()).toContain(`DHCPACK(${NS_NET.bridge}) ${IP} ${MAC} cn01`);
    firstGen = servedBootDir(sn, site.image);
    expect(ns.nginxLog()).toContain(`GET /tftpboot/${firstGen}/kernel HTTP`);
  }, 420_000);

  test("the image changes on the MN: the next sync moves the change, the node boots it", async () => {
    setGeneration(join(site.dir, "rootimg"), "gen2");
    await ok(site.sb, "pack", site.image);
    const r = await snSync();
    expect(r.code, r.stderr).toBe(0);
    const img = r.data.images?.find((i) => i.image === site.image);
    expect(img?.switched).toBe(true);
    console.log(`after a re-pack: ${img?.received} bytes received (first sync ${firstBytes})`);
    expect(img?.received ?? 0).toBeLessThan(firstBytes / 2);
    // the node's loader file names the new generation; the one it booted before stays for nodes still on it
    const gen = servedBootDir(sn, site.image);
    expect(gen).not.toBe(firstGen);
    expect(existsSync(join(sn.tftpdir, firstGen, "kernel"))).toBe(true);
    const vm = await bootNode();
    expect(vm.console).toContain("xcimg-gen: gen2");
    expect(ns.nginxLog()).toContain(`GET /tftpboot/${gen}/rootimg.cpio.gz HTTP`);
  }, 420_000);

  test("the MN's link goes down: sn sync exits 69 and says so; the node still boots from the SN", async () => {
    execFileSync("ip", ["-n", mnNs, "link", "set", "eth0", "down"]);
    const r = await snSync();
    expect(r.code).toBe(69);
    expect(r.data.error?.message).toContain(MN_ADDR);
    const vm = await bootNode();
    expect(vm.console).toContain("xcimg-gen: gen2");
  }, 420_000);
});
