import { expect } from "bun:test";
import { Vm } from "./qemu";

/**
 * PXE-boot a node in qemu from the files xcimg wrote and log into it over SSH (port forwarded
 * to 127.0.0.1) as root with the management node's key, trusting only the host keys xcimg
 * published (StrictHostKeyChecking against its ssh_known_hosts). Returns what `command`
 * printed. Shared by the e2e suites that boot real distributions.
 */
export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

export interface LoginTarget {
  tftpdir: string;
  node: string;
  mac: string;
  /** The management node's private key (ssh.identity). */
  key: string;
  /** xcimg's ssh_known_hosts (next to the database). */
  knownHosts: string;
}

export async function ssh(t: LoginTarget, port: number, command: string): Promise<{ code: number; out: string; err: string }> {
  const argv = ["ssh", "-i", t.key, "-p", String(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${t.knownHosts}`];
  argv.push("-o", `HostKeyAlias=${t.node}`, "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "root@127.0.0.1", command);
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

export async function bootAndLogin(t: LoginTarget, command: string, label: string): Promise<string> {
  const port = await freePort();
  const vm = new Vm({ tftpdir: t.tftpdir, bootfile: `xcat/xnba/nodes/${t.node}`, mac: t.mac, sshPort: port, memMiB: 1024 });
  try {
    const login = await vm.waitFor(new RegExp(`${t.node} login:`), 240000);
    console.log(`${label}: login prompt after ${vm.seconds.toFixed(1)} s`);
    if (!login) console.log(vm.console.slice(-4000));
    expect(login).not.toBeNull();
    const ours = vm.console.split(/\r?\n/).filter((l) => l.startsWith("xcimg:"));
    console.log(ours.join("\n"));
    expect(ours.some((l) => /^xcimg: root is a tmpfs holding \d+ MiB; starting \/sbin\/init/.test(l))).toBe(true);
    let r = { code: -1, out: "", err: "" };
    for (let i = 0; i < 30; i++) {
      r = await ssh(t, port, command);
      if (r.code === 0) break;
      await Bun.sleep(2000);
    }
    expect(r.code, r.err).toBe(0);
    return r.out;
  } finally {
    await vm.stop();
  }
}
