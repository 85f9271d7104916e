import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { openDb } from "../../../src/core/db/open";
import { findImage } from "../../../src/core/defs/image";
import { readNodes } from "../../../src/core/defs/node";
import { builtinFiles } from "../../../src/core/postscripts/builtins";
import { exportLines, postscriptEnv } from "../../../src/core/postscripts/environment";
import { RUNNER_PATH, RUNNER_SCRIPT } from "../../../src/core/postscripts/runner";
import { type StaticServer, serveStatic } from "../../helpers/http-serve";
import { defineNetbootImage } from "../../helpers/images";
import { makeRpmRepo } from "../../helpers/rpm-repo";
import { ROOT, Sandbox } from "../../helpers/sandbox";

/**
 * xcimg's own scripts for xCAT's default postscripts (src/core/postscripts/builtins/), run for
 * real: `xcimg boot` renders each node's mypostscript and carries the built-ins in its overlay,
 * and the runner runs them in a busybox root (the image's tree with the overlay on top), in a
 * PID namespace of its own (and a network namespace with a veth where a script reads or sets
 * addresses). Each case checks the files written, whole.
 */
let sb: Sandbox;
let server: StaticServer;
const image = "bb-x86_64-netboot-compute";

beforeAll(async () => {
  sb = new Sandbox("postscripts-builtins");
  server = serveStatic({ "/install": sb.installdir, "/tftpboot": sb.tftpdir });
  appendFileSync(sb.config, `[http]\nport = ${server.port}\n`);
  const { rootimg } = await defineNetbootImage(sb, image, [], "bb1");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), rootimg], { stdio: ["ignore", "ignore", "pipe"] });
  mkdirSync(join(sb.installdir, "postscripts"), { recursive: true });
  const ok = async (...argv: string[]) => {
    const r = await sb.run(...argv);
    expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
  };
  await ok("pack", image);
  await ok("table", "set", "postscripts", "node=xcatdefaults", "postscripts=syslog,remoteshell,syncfiles,setupntp", "postbootscripts=otherpkgs");
  await ok("table", "set", "site", "key=ntpservers", "value=ntp1.example,<xcatmaster>");
  await ok("table", "set", "networks", "net=10.1.0.0,mask=255.255.255.0", "netname=net1", "gateway=10.1.0.1");
  await ok("table", "set", "networks", "net=10.2.0.0,mask=255.255.0.0", "netname=net2");
  await ok("table", "set", "networks", "net=10.10.0.0,mask=255.255.255.0", "netname=net10", "mtu=9000");
  const node = (name: string, ...attrs: string[]) =>
    ok("node", "set", name, "groups=compute,all", "arch=x86_64", `mac=52:54:00:12:34:${name.slice(-2)}`, "xcatmaster=10.0.9.1", ...attrs);
  // a static NIC, a bond of two NICs and a VLAN on the bond
  await node("cn01", "postscripts=confignetwork,hardeths");
  await ok(
    "table",
    "set",
    "nics",
    "node=cn01",
    "nicips=eth0!10.1.0.5,bond0!10.2.0.5,bond0.10!10.10.0.5",
    "nictypes=eth0!Ethernet,bond0!bond,bond0.10!vlan",
    "nicdevices=bond0!eth1|eth2,bond0.10!bond0",
    "nicnetworks=eth0!net1,bond0!net2,bond0.10!net10",
    "nicextraparams=bond0!BONDING_OPTS=mode=802.3ad;miimon=100",
  );
  // bad rows: two addresses but one network; a type xcimg does not configure
  await node("cn02", "postscripts=confignetwork");
  await ok("table", "set", "nics", "node=cn02", "nicips=eth0!10.1.0.6|10.1.0.7", "nictypes=eth0!ethernet", "nicnetworks=eth0!net1");
  await node("cn03", "postscripts=confignetwork");
  await ok("table", "set", "nics", "node=cn03", "nicips=ib0!10.2.0.8", "nictypes=ib0!Infiniband", "nicnetworks=ib0!net2");
  // hostile values that would land in files a shell reads (ifcfg, interfaces): refused
  await ok("table", "set", "networks", "net=10.3.0.0,mask=255.255.255.0", "netname=net3", "gateway=10.3.0.1;reboot");
  await node("cn05", "postscripts=confignetwork");
  await ok("table", "set", "nics", "node=cn05", "nicips=eth0!10.3.0.5", "nictypes=eth0!ethernet", "nicnetworks=eth0!net3");
  await node("cn06", "postscripts=confignetwork");
  await ok(
    "table",
    "set",
    "nics",
    "node=cn06",
    "nicips=bond0!10.2.0.6",
    "nictypes=bond0!bond",
    "nicdevices=bond0!eth1|eth2",
    "nicnetworks=bond0!net2",
    'nicextraparams=bond0!BONDING_OPTS=mode=$(touch /pwned)"',
  );
  // one static NIC, applied now
  await node("cn04", "postscripts=confignetwork");
  await ok("table", "set", "nics", "node=cn04", "nicips=eth0!10.1.0.9", "nictypes=eth0!ethernet", "nicnetworks=eth0!net1", "nicextraparams=eth0!MTU=1400");
  await ok("boot", "cn01,cn02,cn03,cn04,cn05,cn06", "-o", image);
}, 120000);
afterAll(() => {
  server?.stop();
  sb?.cleanup();
});

let roots = 0;
/** A node's root as it is after the initrd: the image's tree with the node's overlay on top. */
function nodeRoot(node: string): string {
  const root = join(sb.dir, `root-${node}-${++roots}`);
  execFileSync("cp", ["-a", join(sb.installdir, "netboot/bb1/x86_64/compute/rootimg"), root]);
  execFileSync("sh", ["-c", `cd '${root}' && cpio -idmu --quiet < '${join(sb.tftpdir, "xcat/overlay", `${node}.cpio`)}'`]);
  return root;
}

/** A veth named eth0 (its peer up, so the link has carrier) with an address and a default route. */
const VETH =
  "ip link add eth0 type veth peer name p0 && ip link set p0 up && ip link set eth0 up && ip addr add 10.0.9.7/24 dev eth0 && ip route add default via 10.0.9.1";

/**
 * The runner's `run` (what updatenode -P does) on the list given, chrooted into root; with
 * `net`, in a new network namespace first set up by that shell text (host tools), and `after`
 * run there once the runner is done.
 */
function runOn(root: string, lines: string[], net?: { setup: string; after?: string }): { code: number; out: string; log: string } {
  writeFileSync(join(root, "xcatpost/test.list"), `${lines.join("\n")}\n`);
  const inner = `chroot '${root}' /bin/sh /etc/xcimg/postscripts.sh run /xcatpost/test.list; rc=$?; ${net?.after ?? ":"}; exit $rc`;
  const argv = net ? ["unshare", "-p", "-f", "-n", "sh", "-c", `set -e; ${net.setup}; set +e; ${inner}`] : ["unshare", "-p", "-f", "sh", "-c", inner];
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  const log = existsSync(join(root, "var/log/xcat/xcat.log")) ? readFileSync(join(root, "var/log/xcat/xcat.log"), "utf8") : "";
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString(), log };
}
const read = (root: string, p: string) => readFileSync(join(root, p), "utf8");

describe("boot gives each node the built-ins it lists and their variables", () => {
  test("mypostscript carries the nics row, the networks and site.ntpservers", () => {
    const root = nodeRoot("cn01");
    const mp = read(root, "xcatpost/mypostscript");
    expect(mp).toContain("NICIPS='eth0!10.1.0.5,bond0!10.2.0.5,bond0.10!10.10.0.5'\n");
    expect(mp).toContain("NTPSERVERS='ntp1.example,<xcatmaster>'\n");
    expect(mp).toMatch(/NETWORKS_LINE1='netname=net1\|\|net=10\.1\.0\.0\|\|mask=255\.255\.255\.0\|\|.*gateway=10\.1\.0\.1\|\|/);
    expect(readdirSync(join(root, "etc/xcimg/builtins")).sort()).toEqual(["confignetwork", "hardeths", "lib", "otherpkgs", "setupntp", "syslog"]);
    expect(read(root, "xcatpost/xcimg-postbootscripts.list")).toBe("'otherpkgs'\n");
    expect(read(root, "xcatpost/xcimg-postscripts.list")).toBe("'syslog'\n'setupntp'\n'confignetwork'\n'hardeths'\n");
    expect(read(root, "etc/xcimg/postscripts.env")).toContain("XCIMG_BUILTIN='remoteshell syncfiles'");
  });
});

describe("confignetwork: a static NIC, a bond of two NICs and a VLAN on the bond", () => {
  test("systemd-networkd", () => {
    const root = nodeRoot("cn01");
    const r = runOn(root, ["'confignetwork' '--stack=networkd' '--no-apply'"]);
    expect(r.code, r.log).toBe(0);
    const dir = "etc/systemd/network";
    expect(readdirSync(join(root, dir)).sort()).toEqual([
      "10-xcimg-bond0.10.netdev",
      "10-xcimg-bond0.10.network",
      "10-xcimg-bond0.netdev",
      "10-xcimg-bond0.network",
      "10-xcimg-eth0.network",
      "10-xcimg-eth1.network",
      "10-xcimg-eth2.network",
    ]);
    const f = (n: string) => read(root, `${dir}/10-xcimg-${n}`);
    const head = "# written by xcimg confignetwork\n";
    expect(f("eth0.network")).toBe(`${head}[Match]\nName=eth0\n\n[Network]\nAddress=10.1.0.5/24\nGateway=10.1.0.1\n`);
    expect(f("bond0.netdev")).toBe(`${head}[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=802.3ad\nMIIMonitorSec=100ms\n`);
    expect(f("bond0.network")).toBe(`${head}[Match]\nName=bond0\n\n[Network]\nAddress=10.2.0.5/16\nVLAN=bond0.10\n`);
    expect(f("eth1.network")).toBe(`${head}[Match]\nName=eth1\n\n[Network]\nBond=bond0\n`);
    expect(f("eth2.network")).toBe(`${head}[Match]\nName=eth2\n\n[Network]\nBond=bond0\n`);
    expect(f("bond0.10.netdev")).toBe(`${head}[NetDev]\nName=bond0.10\nKind=vlan\n\n[VLAN]\nId=10\n`);
    expect(f("bond0.10.network")).toBe(`${head}[Match]\nName=bond0.10\n\n[Link]\nMTUBytes=9000\n\n[Network]\nAddress=10.10.0.5/24\n`);
    expect(r.log).toContain("running updatenode confignetwork --stack=networkd --no-apply (xcimg's built-in)");
    expect(read(root, "run/xcimg/updatenode.status")).toContain("state=done\n");
  });

  test("NetworkManager keyfiles", () => {
    const root = nodeRoot("cn01");
    const r = runOn(root, ["'confignetwork' '--stack=nm' '--no-apply'"]);
    expect(r.code, r.log).toBe(0);
    const dir = "etc/NetworkManager/system-connections";
    expect(readdirSync(join(root, dir)).sort()).toEqual([
      "xcimg-bond0.10.nmconnection",
      "xcimg-bond0.nmconnection",
      "xcimg-eth0.nmconnection",
      "xcimg-eth1.nmconnection",
      "xcimg-eth2.nmconnection",
    ]);
    const f = (n: string) => read(root, `${dir}/xcimg-${n}.nmconnection`);
    const conn = (n: string, type: string) =>
      `# written by xcimg confignetwork\n[connection]\nid=xcimg-${n}\ntype=${type}\ninterface-name=${n}\nautoconnect=true\nautoconnect-priority=100\n`;
    expect(f("eth0")).toBe(`${conn("eth0", "ethernet")}\n[ipv4]\nmethod=manual\naddress1=10.1.0.5/24\ngateway=10.1.0.1\n\n[ipv6]\nmethod=ignore\n`);
    expect(f("bond0")).toBe(
      `${conn("bond0", "bond")}\n[bond]\nmode=802.3ad\nmiimon=100\n\n[ipv4]\nmethod=manual\naddress1=10.2.0.5/16\n\n[ipv6]\nmethod=ignore\n`,
    );
    expect(f("eth1")).toBe(`${conn("eth1", "ethernet")}master=bond0\nslave-type=bond\n`);
    expect(f("bond0.10")).toBe(
      `${conn("bond0.10", "vlan")}\n[vlan]\nid=10\nparent=bond0\n\n[ipv4]\nmethod=manual\naddress1=10.10.0.5/24\n\n[ipv6]\nmethod=ignore\n`,
    );
    // NetworkManager ignores keyfiles others can read
    expect(
      Bun.spawnSync(["stat", "-c", "%a", join(root, dir, "xcimg-eth0.nmconnection")])
        .stdout.toString()
        .trim(),
    ).toBe("600");
  });

  test("ifcfg (RHEL's network-scripts); hardeths afterwards leaves confignetwork's interface alone", () => {
    const root = nodeRoot("cn01");
    const dir = "etc/sysconfig/network-scripts";
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, "ifup-eth"), "#!/bin/sh\n"); // initscripts: ifcfg is the stack, found
    writeFileSync(join(root, dir, "ifcfg-eth0"), "DEVICE=eth0\nBOOTPROTO=dhcp\n");
    const r = runOn(root, ["'confignetwork' '--no-apply'"]);
    expect(r.code, r.log).toBe(0);
    expect(readdirSync(join(root, dir)).sort()).toEqual(["ifcfg-bond0", "ifcfg-bond0.10", "ifcfg-eth0", "ifcfg-eth1", "ifcfg-eth2", "ifup-eth"]);
    const f = (n: string) => read(root, `${dir}/ifcfg-${n}`);
    const head = (n: string) => `# written by xcimg confignetwork\nDEVICE=${n}\nNAME=xcimg-${n}\nONBOOT=yes\nBOOTPROTO=none\n`;
    expect(f("eth0")).toBe(`${head("eth0")}TYPE=Ethernet\nIPADDR=10.1.0.5\nPREFIX=24\nGATEWAY=10.1.0.1\n`);
    expect(f("bond0")).toBe(`${head("bond0")}TYPE=Bond\nBONDING_MASTER=yes\nBONDING_OPTS="mode=802.3ad miimon=100"\nIPADDR=10.2.0.5\nPREFIX=16\n`);
    expect(f("eth1")).toBe(`${head("eth1")}TYPE=Ethernet\nMASTER=bond0\nSLAVE=yes\n`);
    expect(f("bond0.10")).toBe(`${head("bond0.10")}VLAN=yes\nPHYSDEV=bond0\nVLAN_ID=10\nIPADDR=10.10.0.5\nPREFIX=24\nMTU=9000\n`);
    const before = f("eth0");
    const h = runOn(root, ["'hardeths'"], { setup: VETH });
    expect(h.code, h.log + h.out).toBe(0);
    expect(f("eth0")).toBe(before);
    expect(h.log).toContain("hardeths: ifcfg-eth0 is confignetwork's: left as it is");
    expect(h.log).not.toContain("is now static");
  });

  test("ifupdown: the stanzas of those interfaces replaced in /etc/network/interfaces, the others kept", () => {
    const root = nodeRoot("cn01");
    writeFileSync(
      join(root, "etc/network/interfaces"),
      "auto lo\niface lo inet loopback\n\nauto eth0 eth3\niface eth0 inet dhcp\n    hostname cn01\n\niface eth3 inet dhcp\n",
    );
    const r = runOn(root, ["'confignetwork' '--no-apply'"]); // busybox's ifup: ifupdown, found
    expect(r.code, r.log).toBe(0);
    expect(read(root, "etc/network/interfaces")).toBe(
      [
        "auto lo",
        "iface lo inet loopback",
        "",
        "auto eth3",
        "iface eth3 inet dhcp",
        "# written by xcimg confignetwork: eth0 bond0 bond0.10 eth1 eth2",
        "auto eth0",
        "iface eth0 inet static",
        "    address 10.1.0.5/24",
        "    gateway 10.1.0.1",
        "",
        "auto bond0",
        "iface bond0 inet static",
        "    address 10.2.0.5/16",
        "    bond-slaves eth1 eth2",
        "    bond-mode 802.3ad",
        "    bond-miimon 100",
        "",
        "auto bond0.10",
        "iface bond0.10 inet static",
        "    address 10.10.0.5/24",
        "    mtu 9000",
        "    vlan-raw-device bond0",
        "",
        "auto eth1",
        "iface eth1 inet manual",
        "    bond-master bond0",
        "",
        "auto eth2",
        "iface eth2 inet manual",
        "    bond-master bond0",
        "# end of the interfaces written by xcimg confignetwork",
        "",
      ].join("\n"),
    );
    expect(read(root, "etc/network/interfaces.xcimg-orig")).toContain("iface eth0 inet dhcp\n");
    // run again: the same file, not a second copy of the stanzas
    const before = read(root, "etc/network/interfaces");
    expect(runOn(root, ["'confignetwork' '--no-apply'"]).code).toBe(0);
    expect(read(root, "etc/network/interfaces")).toBe(before);
  });

  test("a bad nics row: a clear message, the script fails, nothing written", () => {
    for (const [node, message] of [
      ["cn02", "confignetwork: error: eth0: nicips has 2 address(es) but nicnetworks 1 network(s); each address needs its network"],
      ["cn03", "confignetwork: error: nictype 'infiniband' of ib0 is not one xcimg's confignetwork configures (ethernet, bond, vlan, unused)"],
      ["cn05", "confignetwork: error: network net3: gateway '10.3.0.1;reboot' is not an address"],
      ["cn06", `confignetwork: error: bond0: bonding option 'mode=$(touch' is not name=value with a plain value`],
    ] as const) {
      const root = nodeRoot(node);
      const r = runOn(root, ["'confignetwork' '--stack=networkd'"]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("failed:confignetwork");
      expect(r.log).toContain(message);
      expect(read(root, "run/xcimg/updatenode.status")).toContain("state=failed\n");
      expect(existsSync(join(root, "etc/systemd/network"))).toBe(false);
    }
  });

  test("--apply sets the address, MTU and default route now, with ip", () => {
    const root = nodeRoot("cn04");
    const setup = "ip link add eth0 type veth peer name p0 && ip link set p0 up";
    const r = runOn(root, ["'confignetwork' '--stack=networkd' '--apply'"], {
      setup,
      after: "ip -4 -o addr show dev eth0; ip -o link show dev eth0; ip -4 route show default",
    });
    expect(r.code, r.log + r.out).toBe(0);
    expect(r.out).toContain("inet 10.1.0.9/24");
    expect(r.out).toContain("mtu 1400");
    expect(r.out).toContain("default via 10.1.0.1 dev eth0");
    expect(read(root, "etc/systemd/network/10-xcimg-eth0.network")).toContain("[Link]\nMTUBytes=1400\n");
  });

  test("--apply on a node that has a default route (the one it booted by): the route stays, the files have the gateway", () => {
    const root = nodeRoot("cn04");
    const r = runOn(root, ["'confignetwork' '--stack=networkd' '--apply'"], { setup: VETH, after: "ip -4 route show default; ip -4 -o addr show dev eth0" });
    expect(r.code, r.log + r.out).toBe(0);
    expect(r.out).toContain("default via 10.0.9.1 dev eth0");
    expect(r.out).not.toContain("default via 10.1.0.1");
    expect(r.out).toContain("inet 10.1.0.9/24");
    expect(r.log).toContain("confignetwork: eth0: gateway 10.1.0.1 not applied: the node already has a default route (the files have it)");
    expect(read(root, "etc/systemd/network/10-xcimg-eth0.network")).toContain("Gateway=10.1.0.1\n");
  });
});

describe("hardeths: the boot interface's current address as static configuration", () => {
  test("ifupdown and systemd-networkd", () => {
    let root = nodeRoot("cn01");
    writeFileSync(join(root, "etc/network/interfaces"), "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n");
    let r = runOn(root, ["'hardeths'"], { setup: VETH });
    expect(r.code, r.log + r.out).toBe(0);
    expect(read(root, "etc/network/interfaces")).toBe(
      "auto lo\niface lo inet loopback\n\n# written by xcimg hardeths: eth0\nauto eth0\niface eth0 inet static\n    address 10.0.9.7/24\n    gateway 10.0.9.1\n# end of the interfaces written by xcimg hardeths\n",
    );
    expect(r.log).toContain("hardeths: eth0: 10.0.9.7/24 gateway 10.0.9.1 is now static (ifupdown)");
    root = nodeRoot("cn01");
    r = runOn(root, ["'hardeths' '--stack=networkd'"], { setup: VETH });
    expect(r.code, r.log + r.out).toBe(0);
    expect(readdirSync(join(root, "etc/systemd/network"))).toEqual(["20-xcimg-hardeths-eth0.network"]);
    expect(read(root, "etc/systemd/network/20-xcimg-hardeths-eth0.network")).toBe(
      "# written by xcimg hardeths\n[Match]\nName=eth0\n\n[Network]\nAddress=10.0.9.7/24\nGateway=10.0.9.1\n",
    );
  });
});

describe("setupntp and syslog", () => {
  test("setupntp: chrony.conf with site.ntpservers, <xcatmaster> as the node's master; no time daemon: it fails, saying so", () => {
    let root = nodeRoot("cn01");
    mkdirSync(join(root, "etc/chrony"));
    let r = runOn(root, ["'setupntp'"]);
    expect(r.code, r.log).toBe(0);
    expect(read(root, "etc/chrony/chrony.conf")).toBe(
      "# written by xcimg's setupntp postscript: the site's NTP servers\nserver ntp1.example iburst\nserver 10.0.9.1 iburst\ndriftfile /var/lib/chrony/chrony.drift\nmakestep 1.0 3\nrtcsync\nlogdir /var/log/chrony\n",
    );
    // this busybox has no ntpd applet, the tree no chrony nor timesyncd
    root = nodeRoot("cn01");
    r = runOn(root, ["'setupntp'"]);
    expect(r.code).toBe(1);
    expect(r.log).toContain("setupntp: error: no chrony, ntpd or systemd-timesyncd on this node");
    expect(r.out).toContain("failed:setupntp");
  });

  test("syslog: the rsyslog drop-in forwarding everything to the master; SYSLOG=ignore leaves it alone", () => {
    let root = nodeRoot("cn01");
    writeFileSync(join(root, "etc/rsyslog.conf"), 'module(load="imuxsock")\n');
    let r = runOn(root, ["'syslog'"]);
    expect(r.code, r.log).toBe(0);
    expect(read(root, "etc/rsyslog.d/xcimg-remote.conf")).toBe(
      "# written by xcimg's syslog postscript: every message to the management node too\n*.* @10.0.9.1\n",
    );
    expect(read(root, "etc/rsyslog.conf")).toBe('module(load="imuxsock")\n\n# added by xcimg: read the drop-ins\n$IncludeConfig /etc/rsyslog.d/*.conf\n');
    root = nodeRoot("cn01");
    appendFileSync(join(root, "xcatpost/mypostscript"), "SYSLOG='ignore'\n");
    r = runOn(root, ["'syslog'"]);
    expect(r.code, r.log).toBe(0);
    expect(r.log).toContain("noderes.syslog is 'ignore'");
    expect(existsSync(join(root, "etc/rsyslog.d"))).toBe(false);
  });
});

/**
 * A diskful node: this machine's own root under an overlay (a Debian with apt, dpkg, dnf and
 * rpm), in mount and PID namespaces of its own, so what a package manager installs lands in
 * the overlay's upper layer. The node's mypostscript is rendered as the management node renders
 * it (state install: a diskful node); the runner runs `line`, then `check` runs in the root.
 */
async function diskful(node: string, imageName: string, line: string, check: string) {
  const config = loadConfig({ file: sb.config, env: {} });
  const db = openDb(sb.dbPath);
  const img = findImage(db, imageName);
  if (!img) throw new Error(`no image ${imageName}`);
  const vars = postscriptEnv(config, db, { node, attrs: readNodes(db, [node]).get(node) ?? {}, image: img, state: "install", master: "127.0.0.1" });
  db.close();
  const env = exportLines(vars);
  const base = join(sb.dir, `diskful-${node}`);
  for (const d of ["upper", "work", "root"]) mkdirSync(join(base, d), { recursive: true });
  const upper = join(base, "upper");
  mkdirSync(join(upper, "xcatpost"), { recursive: true });
  mkdirSync(join(upper, RUNNER_PATH, ".."), { recursive: true });
  writeFileSync(join(upper, "xcatpost/mypostscript"), env);
  writeFileSync(join(upper, "xcatpost/test.list"), `${line}\n`);
  writeFileSync(join(upper, RUNNER_PATH), RUNNER_SCRIPT, { mode: 0o755 });
  for (const f of builtinFiles(["otherpkgs"])) {
    if ((f.mode & 0o170000) !== 0o100000) continue;
    mkdirSync(join(upper, f.name, ".."), { recursive: true });
    writeFileSync(join(upper, f.name), f.data ?? "", { mode: f.mode & 0o777 });
  }
  const m = join(base, "root");
  const sh = [
    "set -e",
    `mount -t overlay overlay -o lowerdir=/,upperdir=${upper},workdir=${join(base, "work")} ${m}`,
    `mount --rbind /dev ${m}/dev`,
    `mount -t proc proc ${m}/proc`,
    "set +e",
    `chroot ${m} /bin/sh ${RUNNER_PATH} run /xcatpost/test.list; rc=$?`,
    `chroot ${m} ${check}`,
    "exit $rc",
  ].join("\n");
  // not spawnSync: the HTTP server the package manager fetches from runs in this process
  const p = Bun.spawn(["unshare", "-m", "-p", "-f", "--propagation", "private", "sh", "-c", sh], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const log = existsSync(join(upper, "var/log/xcat/xcat.log")) ? readFileSync(join(upper, "var/log/xcat/xcat.log"), "utf8") : "";
  return { code, stdout, stderr, log, upper, env };
}

describe("otherpkgs", () => {
  test("a diskless node: says so, installs nothing", () => {
    const root = nodeRoot("cn01");
    const r = runOn(root, ["'otherpkgs'"]);
    expect(r.code, r.log).toBe(0);
    expect(r.log).toContain("otherpkgs: a diskless node (netboot): nothing installed here");
  });

  /**
   * The packages are real .debs in a flat repository the test's HTTP server serves from
   * <installdir>/post/otherpkgs, as the management node would; two #NEW_INSTALL_LIST#
   * transactions, the second removing (--) what the first installed.
   */
  test("a diskful node: apt installs the otherpkglist from otherpkgdir over HTTP, one transaction per list", async () => {
    const repo = join(sb.installdir, "post/otherpkgs/debian/x86_64");
    mkdirSync(repo, { recursive: true });
    for (const name of ["xcimg-hello", "xcimg-extra"]) {
      const d = join(sb.dir, "debs", name);
      mkdirSync(join(d, "DEBIAN"), { recursive: true });
      mkdirSync(join(d, "usr/share/xcimg-test"), { recursive: true });
      writeFileSync(join(d, "usr/share/xcimg-test", name), `${name}\n`);
      writeFileSync(
        join(d, "DEBIAN/control"),
        `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: xcimg <test@xcimg.invalid>\nDescription: xcimg otherpkgs test\n`,
      );
      execFileSync("dpkg-deb", ["--build", "--root-owner-group", d, join(repo, `${name}_1.0_all.deb`)], { stdio: "ignore" });
    }
    execFileSync("sh", ["-c", `cd '${repo}' && dpkg-scanpackages -m . > Packages`], { stdio: ["ignore", "ignore", "ignore"] });
    const list = join(sb.dir, "compute.otherpkgs.pkglist");
    writeFileSync(list, "xcimg-hello\n#NEW_INSTALL_LIST#\nxcimg-extra\n--xcimg-hello\n");
    let r = await sb.run(
      "image",
      "set",
      "deb-install",
      "provmethod=install",
      "osvers=debian12",
      "osarch=x86_64",
      "profile=compute",
      `otherpkgdir=${repo}`,
      `otherpkglist=${list}`,
    );
    expect(r.code, r.stderr).toBe(0);
    r = await sb.run("node", "set", "cn05", "groups=compute,all", "arch=x86_64", "provmethod=deb-install", "xcatmaster=127.0.0.1");
    expect(r.code, r.stderr).toBe(0);

    const { code, stdout, stderr, log, upper, env } = await diskful("cn05", "deb-install", "'otherpkgs'", "dpkg -s xcimg-extra");
    expect(env).toContain(`OTHERPKGDIR_URL='http://127.0.0.1:${server.port}/install/post/otherpkgs/debian/x86_64'`);
    expect(env).toContain("OTHERPKGS1='xcimg-hello'\nexport OTHERPKGS1\nOTHERPKGS2='xcimg-extra,--xcimg-hello'\n");
    expect(code, log + stderr).toBe(0);
    expect(log).toContain("otherpkgs: install xcimg-hello");
    expect(log).toContain("otherpkgs: install xcimg-extra");
    expect(log).toContain("otherpkgs: remove xcimg-hello");
    expect(readFileSync(join(upper, "etc/apt/sources.list.d/xcimg-otherpkgs.list"), "utf8")).toBe(
      `deb [trusted=yes] http://127.0.0.1:${server.port}/install/post/otherpkgs/debian/x86_64 ./\n`,
    );
    expect(readFileSync(join(upper, "usr/share/xcimg-test/xcimg-extra"), "utf8")).toBe("xcimg-extra\n");
    expect(existsSync(join(upper, "usr/share/xcimg-test/xcimg-hello"))).toBe(false);
    expect(stdout).toContain("Package: xcimg-extra\nStatus: install ok installed\n");
    expect(server.log).toContain("/install/post/otherpkgs/debian/x86_64/xcimg-extra_1.0_all.deb");
  }, 120000);

  test("a list word that would reach the package manager as an option: refused before any repository is written", async () => {
    const list = join(sb.dir, "hostile.otherpkgs.pkglist");
    writeFileSync(list, "xcimg-hello\n---y\n");
    let r = await sb.run(
      "image",
      "set",
      "opt-install",
      "provmethod=install",
      "osvers=debian12",
      "osarch=x86_64",
      "profile=compute",
      `otherpkgdir=${join(sb.installdir, "post/otherpkgs/debian/x86_64")}`,
      `otherpkglist=${list}`,
    );
    expect(r.code, r.stderr).toBe(0);
    r = await sb.run("node", "set", "cn07", "groups=compute,all", "arch=x86_64", "provmethod=opt-install", "xcatmaster=127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    const { code, log, upper } = await diskful("cn07", "opt-install", "'otherpkgs'", "true");
    expect(code).toBe(1);
    expect(log).toContain("otherpkgs: error: '---y' in the otherpkglist is not a package name");
    expect(existsSync(join(upper, "etc/apt/sources.list.d/xcimg-otherpkgs.list"))).toBe(false);
  }, 120000);

  test("a diskful node with dnf: the otherpkgdir as a repository, the package installed by rpm", async () => {
    const { repo } = makeRpmRepo(join(sb.installdir, "post/otherpkgs/el9"), [{ name: "xcimg-rpmhello", sign: "unsigned" }]);
    const list = join(sb.dir, "compute.el9.otherpkgs.pkglist");
    writeFileSync(list, "xcimg-rpmhello\n");
    let r = await sb.run(
      "image",
      "set",
      "rpm-install",
      "provmethod=install",
      "osvers=rhels9",
      "osarch=x86_64",
      "profile=compute",
      `otherpkgdir=${repo}`,
      `otherpkglist=${list}`,
    );
    expect(r.code, r.stderr).toBe(0);
    r = await sb.run("node", "set", "cn06", "groups=compute,all", "arch=x86_64", "provmethod=rpm-install", "xcatmaster=127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    const { code, stdout, stderr, log, upper } = await diskful("cn06", "rpm-install", "'otherpkgs' '--pm=dnf'", "rpm -q xcimg-rpmhello");
    expect(code, log + stderr).toBe(0);
    expect(readFileSync(join(upper, "etc/yum.repos.d/xcimg-otherpkgs.repo"), "utf8")).toBe(
      `[xcimg-otherpkgs-1]\nname=xcimg otherpkgs 1\nbaseurl=http://127.0.0.1:${server.port}/install/post/otherpkgs/el9/repo\nenabled=1\ngpgcheck=0\nskip_if_unavailable=0\n\n`,
    );
    expect(log).toContain("otherpkgs: install xcimg-rpmhello");
    expect(stdout).toContain("xcimg-rpmhello-1.0-1.noarch");
    expect(readFileSync(join(upper, "usr/share/xcimg-test/xcimg-rpmhello"), "utf8")).toBe("xcimg-rpmhello\n");
  }, 120000);
});
