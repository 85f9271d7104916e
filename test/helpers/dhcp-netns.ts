import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootVm, type VmOptions, type VmResult } from "./qemu";
import { BIN, type RunResult, type Sandbox } from "./sandbox";

/**
 * A provisioning network in a box: a network namespace of the test's own with a bridge
 * (the management node's side, 10.99.0.1/24), a tap for a qemu node and a veth for DHCP
 * probes; addresses exist only inside the namespace, so nothing leaves it. Inside it run
 * the real servers a management node runs: dnsmasq from Debian with the configuration
 * `xcimg dhcp` wrote (or as a TFTP-only server next to Kea), kea-dhcp4 with the file
 * `xcimg dhcp` wrote for it, and nginx with docs/boot.md's aliases for /tftpboot and /install.
 */
export const NS_NET = { net: "10.99.0.0", mask: "255.255.255.0", mn: "10.99.0.1", bridge: "br0", tap: "tap0" } as const;

export interface DhcpNetns {
  name: string;
  /** Words that run a command inside the namespace. */
  exec: string[];
  dnsmasqPid(): number;
  dnsmasqLog(): string;
  nginxLog(): string;
  keaLog(): string;
  /** kea-dhcp4's process id (what dhcp.reload signals). */
  keaPid(): number;
  startDnsmasq(conf: string): Promise<void>;
  /** Stop the running dnsmasq (a changed dnsmasq.conf needs a restart) and wait until it is gone. */
  stopDnsmasq(): Promise<void>;
  dhcpdLog(): string;
  /** ISC dhcpd in the foreground on this file, listening on the bridge; leases in the work directory. */
  startDhcpd(conf: string): Promise<void>;
  /** dnsmasq with DHCP and DNS off: TFTP from `tftpdir` on the bridge only (the TFTP server beside Kea). */
  startTftp(tftpdir: string): Promise<void>;
  /** kea-dhcp4 on this file, its lease file on a tmpfs of its own mount namespace; its pid in <workdir>/kea.pid. */
  startKea(conf: string): Promise<void>;
  startNginx(port: number, tftpdir: string, installdir: string): Promise<void>;
  /**
   * The compiled xcimg inside the namespace, on the sandbox's site: what needs the namespace's
   * interfaces (kea-dhcp4 -t checks that site.dhcpinterfaces exist) runs where they are, as on
   * a management node. Build it first (scripts/test.sh does).
   */
  xcimg(sb: Sandbox, ...argv: string[]): Promise<RunResult>;
  /** A qemu node on the namespace's tap: firmware PXE against the servers in the namespace. */
  boot(o: Omit<VmOptions, "tftpdir" | "bootfile" | "netdev" | "prefix"> & { until: RegExp; timeoutMs: number }): Promise<VmResult>;
  /**
   * A point-to-point link to another namespace (a service node's uplink to its management
   * node): a veth `up0` here with `here`/24, its peer `eth0` in `other` with `there`/24.
   */
  uplink(other: string, here: string, there: string): void;
  /** A DHCP client with this MAC on a veth in the namespace: the address it was offered, or null. */
  probe(mac: string): string | null;
  cleanup(): void;
}

const ip = (...a: string[]) => execFileSync("ip", a, { stdio: ["ignore", "ignore", "pipe"] });

/**
 * `nodes: true` puts the qemu node's tap in a namespace of its own (`<name>-nodes`, a bridge
 * joined to this one's by a veth): the nodes' network, which reaches nothing but the servers here.
 */
export function dhcpNetns(workdir: string, opts: { nodes?: boolean } = {}): DhcpNetns {
  const name = `xcimg-dhcp-${process.pid}`;
  const exec = ["ip", "netns", "exec", name];
  ip("netns", "add", name);
  const n = (...a: string[]) => ip("-n", name, ...a);
  n("link", "set", "lo", "up");
  n("link", "add", NS_NET.bridge, "type", "bridge");
  n("addr", "add", `${NS_NET.mn}/24`, "dev", NS_NET.bridge);
  n("link", "set", NS_NET.bridge, "up");
  const nodeNs = opts.nodes ? `${name}-nodes` : name;
  if (opts.nodes) {
    ip("netns", "add", nodeNs);
    const m = (...a: string[]) => ip("-n", nodeNs, ...a);
    m("link", "set", "lo", "up");
    m("link", "add", NS_NET.bridge, "type", "bridge");
    m("link", "set", NS_NET.bridge, "up");
    n("link", "add", "nodes0", "type", "veth", "peer", "name", "uplink", "netns", nodeNs);
    n("link", "set", "nodes0", "master", NS_NET.bridge);
    n("link", "set", "nodes0", "up");
    m("link", "set", "uplink", "master", NS_NET.bridge);
    m("link", "set", "uplink", "up");
  }
  const t = (...a: string[]) => ip("-n", nodeNs, ...a);
  t("tuntap", "add", "dev", NS_NET.tap, "mode", "tap");
  t("link", "set", NS_NET.tap, "master", NS_NET.bridge);
  t("link", "set", NS_NET.tap, "up");
  // a bridge has no carrier until a port has one (the tap gets it only while qemu runs), and
  // Kea opens no socket on an interface that is not RUNNING: a veth pair, both ends up, keeps
  // the bridge up as a management node's NIC is
  n("link", "add", "keep", "type", "veth", "peer", "name", "keepb");
  n("link", "set", "keepb", "master", NS_NET.bridge);
  n("link", "set", "keepb", "up");
  n("link", "set", "keep", "up");
  const pids: number[] = [];
  const dnsmasqPidFile = join(workdir, "dnsmasq.pid");
  const dnsmasqLog = join(workdir, "dnsmasq.log");
  const nginxLog = join(workdir, "nginx-access.log");
  const keaLog = join(workdir, "kea.log");
  const dhcpdLog = join(workdir, "dhcpd.log");
  let keaPid = 0;
  let probes = 0;

  const waitFor = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 100; i++) {
      if (ok()) return;
      await Bun.sleep(100);
    }
    throw new Error(`${what} did not start`);
  };

  return {
    name,
    exec,
    dnsmasqPid: () => Number(readFileSync(dnsmasqPidFile, "utf8").trim()),
    dnsmasqLog: () => (existsSync(dnsmasqLog) ? readFileSync(dnsmasqLog, "utf8") : ""),
    nginxLog: () => (existsSync(nginxLog) ? readFileSync(nginxLog, "utf8") : ""),
    keaLog: () => (existsSync(keaLog) ? readFileSync(keaLog, "utf8") : ""),
    keaPid: () => keaPid,
    dhcpdLog: () => (existsSync(dhcpdLog) ? readFileSync(dhcpdLog, "utf8") : ""),
    async stopDnsmasq() {
      const pid = this.dnsmasqPid();
      process.kill(pid, "SIGTERM");
      await waitFor("dnsmasq's exit", () => !existsSync(`/proc/${pid}`));
      rmSync(dnsmasqPidFile, { force: true });
    },
    async startDhcpd(conf) {
      const leases = join(workdir, "dhcpd.leases");
      writeFileSync(leases, "");
      // -f: foreground (the test owns it); -d: log to stderr; -4 -cf -lf -pf: this file, leases and pid here
      const p = Bun.spawn([...exec, "dhcpd", "-4", "-f", "-d", "-cf", conf, "-lf", leases, "-pf", join(workdir, "dhcpd.pid"), NS_NET.bridge], {
        stdout: "ignore",
        stderr: Bun.file(dhcpdLog),
      });
      pids.push(p.pid);
      await waitFor("dhcpd", () => /Sending on\s+Socket\/fallback/.test(this.dhcpdLog()) || p.exitCode !== null);
      if (p.exitCode !== null) throw new Error(`dhcpd exited with ${p.exitCode}: ${this.dhcpdLog().slice(-2000)}`);
    },
    async startDnsmasq(conf) {
      // -k: foreground (the test owns the process); -u root: the sandbox's 0700 temp dirs
      const p = Bun.spawn([...exec, "dnsmasq", "-k", "-u", "root", "-C", conf, `--pid-file=${dnsmasqPidFile}`, `--log-facility=${dnsmasqLog}`], {
        stdout: "ignore",
        stderr: "pipe",
      });
      pids.push(p.pid);
      const from = this.dnsmasqLog().length; // a restart appends to the same log
      await waitFor("dnsmasq", () => existsSync(dnsmasqPidFile) && /started|DHCP, IP range/.test(this.dnsmasqLog().slice(from)));
    },
    async startTftp(tftpdir) {
      // -C /dev/null: not the machine's /etc/dnsmasq.conf; port=0: no DNS; no dhcp-range: no DHCP
      const p = Bun.spawn(
        [
          ...exec,
          "dnsmasq",
          "-k",
          "-u",
          "root",
          "-C",
          "/dev/null",
          "--port=0",
          "--enable-tftp",
          `--tftp-root=${tftpdir}`,
          `--interface=${NS_NET.bridge}`,
          "--bind-interfaces",
          `--pid-file=${dnsmasqPidFile}`,
          `--log-facility=${dnsmasqLog}`,
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      pids.push(p.pid);
      await waitFor("dnsmasq (TFTP only)", () => existsSync(dnsmasqPidFile) && /TFTP root is/.test(this.dnsmasqLog()));
    },
    async startKea(conf) {
      // `ip netns exec` runs the command in a mount namespace of its own (iproute2's
      // netns_switch), so a tmpfs over /var/lib there is seen by this Kea only: its default
      // lease file (/var/lib/kea/kea-leases4.csv) never touches the machine's. The pid and lock
      // files go to the work directory. `exec` keeps the pid the one dhcp.reload signals.
      const script = `mount -t tmpfs xcimg-kea /var/lib && mkdir /var/lib/kea && exec kea-dhcp4 -c "$1" 2>&1`;
      const p = Bun.spawn([...exec, "sh", "-c", script, "kea", conf], {
        stdout: Bun.file(keaLog),
        stderr: "ignore",
        env: { ...process.env, KEA_PIDFILE_DIR: workdir, KEA_LOCKFILE_DIR: workdir },
      });
      pids.push(p.pid);
      keaPid = p.pid;
      writeFileSync(join(workdir, "kea.pid"), `${p.pid}\n`);
      await waitFor("kea-dhcp4", () => /DHCP4_STARTED/.test(this.keaLog()) || p.exitCode !== null);
      if (p.exitCode !== null) throw new Error(`kea-dhcp4 exited with ${p.exitCode}: ${this.keaLog().slice(-2000)}`);
    },
    async startNginx(port, tftpdir, installdir) {
      const conf = join(workdir, "nginx.conf");
      writeFileSync(
        conf,
        [
          "user root;",
          "daemon off;",
          "worker_processes 1;",
          `pid ${join(workdir, "nginx.pid")};`,
          `error_log ${join(workdir, "nginx-error.log")};`,
          "events {}",
          "http {",
          `  access_log ${nginxLog};`,
          `  client_body_temp_path ${workdir}; proxy_temp_path ${workdir}; fastcgi_temp_path ${workdir}; uwsgi_temp_path ${workdir}; scgi_temp_path ${workdir};`,
          "  server {",
          `    listen ${NS_NET.mn}:${port};`,
          // docs/boot.md's two aliases
          `    location /tftpboot/ { alias ${tftpdir}/; }`,
          `    location /install/  { alias ${installdir}/; autoindex on; }`,
          "  }",
          "}",
          "",
        ].join("\n"),
      );
      const p = Bun.spawn([...exec, "nginx", "-c", conf, "-e", join(workdir, "nginx-error.log")], { stdout: "ignore", stderr: "pipe" });
      pids.push(p.pid);
      await waitFor("nginx", () => existsSync(join(workdir, "nginx.pid")));
    },
    async xcimg(sb, ...argv) {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(sb.env)) if (v !== undefined) env[k] = v;
      const p = Bun.spawn([...exec, BIN, ...argv], { env, cwd: sb.dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, stdout, stderr };
    },
    boot(o) {
      const prefix = ["ip", "netns", "exec", nodeNs];
      return bootVm({ ...o, tftpdir: "", bootfile: "", netdev: `tap,id=n0,ifname=${NS_NET.tap},script=no,downscript=no`, prefix });
    },
    uplink(other, here, there) {
      n("link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", other);
      n("addr", "add", `${here}/24`, "dev", "up0");
      n("link", "set", "up0", "up");
      ip("-n", other, "addr", "add", `${there}/24`, "dev", "eth0");
      ip("-n", other, "link", "set", "eth0", "up");
    },
    probe(mac) {
      const veth = `p${probes}`;
      probes++;
      n("link", "add", veth, "type", "veth", "peer", "name", `${veth}b`);
      n("link", "set", `${veth}b`, "master", NS_NET.bridge);
      n("link", "set", `${veth}b`, "up");
      n("link", "set", veth, "address", mac);
      n("link", "set", veth, "up");
      try {
        // -n: give up without a lease; -q: quit once it has one; -s /bin/true: configure nothing
        const r = Bun.spawnSync([...exec, "busybox", "udhcpc", "-i", veth, "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true"], {
          stdout: "pipe",
          stderr: "pipe",
        });
        return /lease of ([0-9.]+) obtained/.exec(`${r.stdout.toString()}${r.stderr.toString()}`)?.[1] ?? null;
      } finally {
        n("link", "del", veth);
      }
    },
    cleanup() {
      for (const pid of pids.reverse()) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
      try {
        const ng = Number(readFileSync(join(workdir, "nginx.pid"), "utf8"));
        process.kill(ng, "SIGTERM");
      } catch {
        // not started
      }
      try {
        process.kill(Number(readFileSync(dnsmasqPidFile, "utf8")), "SIGTERM");
      } catch {
        // not started
      }
      for (const ns of new Set([name, nodeNs])) {
        try {
          ip("netns", "del", ns);
        } catch {
          // already gone
        }
      }
    },
  };
}
