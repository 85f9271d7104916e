import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A provisioning network in a box: a network namespace of the test's own with a bridge
 * (the management node's side, 10.99.0.1/24), a tap for a qemu node and a veth for DHCP
 * probes; addresses exist only inside the namespace, so nothing leaves it. Inside it run
 * the real servers a management node runs: dnsmasq from Debian with the configuration
 * `xcimg dhcp` wrote, and nginx with docs/boot.md's aliases for /tftpboot and /install.
 */
export const NS_NET = { net: "10.99.0.0", mask: "255.255.255.0", mn: "10.99.0.1", bridge: "br0", tap: "tap0" } as const;

export interface DhcpNetns {
  name: string;
  /** Words that run a command inside the namespace. */
  exec: string[];
  dnsmasqPid(): number;
  dnsmasqLog(): string;
  nginxLog(): string;
  startDnsmasq(conf: string): Promise<void>;
  startNginx(port: number, tftpdir: string, installdir: string): Promise<void>;
  /** A DHCP client with this MAC on a veth in the namespace: the address it was offered, or null. */
  probe(mac: string): string | null;
  cleanup(): void;
}

const ip = (...a: string[]) => execFileSync("ip", a, { stdio: ["ignore", "ignore", "pipe"] });

export function dhcpNetns(workdir: string): DhcpNetns {
  const name = `xcimg-dhcp-${process.pid}`;
  const exec = ["ip", "netns", "exec", name];
  ip("netns", "add", name);
  const n = (...a: string[]) => ip("-n", name, ...a);
  n("link", "set", "lo", "up");
  n("link", "add", NS_NET.bridge, "type", "bridge");
  n("addr", "add", `${NS_NET.mn}/24`, "dev", NS_NET.bridge);
  n("link", "set", NS_NET.bridge, "up");
  n("tuntap", "add", "dev", NS_NET.tap, "mode", "tap");
  n("link", "set", NS_NET.tap, "master", NS_NET.bridge);
  n("link", "set", NS_NET.tap, "up");
  const pids: number[] = [];
  const dnsmasqPidFile = join(workdir, "dnsmasq.pid");
  const dnsmasqLog = join(workdir, "dnsmasq.log");
  const nginxLog = join(workdir, "nginx-access.log");
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
    async startDnsmasq(conf) {
      // -k: foreground (the test owns the process); -u root: the sandbox's 0700 temp dirs
      const p = Bun.spawn([...exec, "dnsmasq", "-k", "-u", "root", "-C", conf, `--pid-file=${dnsmasqPidFile}`, `--log-facility=${dnsmasqLog}`], {
        stdout: "ignore",
        stderr: "pipe",
      });
      pids.push(p.pid);
      await waitFor("dnsmasq", () => existsSync(dnsmasqPidFile) && /started|DHCP, IP range/.test(this.dnsmasqLog()));
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
      try {
        ip("netns", "del", name);
      } catch {
        // already gone
      }
    },
  };
}
