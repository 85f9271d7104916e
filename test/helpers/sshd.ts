import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real OpenSSH sshd on 127.0.0.1, for tests that talk SSH. It has its own host key,
 * authorized key, config and a private /run (a mount namespace made by `unshare -m`, so the
 * privilege-separation directory /run/sshd exists without touching the machine's /run).
 * Nothing system-wide changes; stop() kills it and removes its directory.
 */
export interface SshdOptions {
  /** Extra sshd_config lines (e.g. `SetEnv PATH=/x`). */
  config?: string[];
  /** Host key type: ed25519 (default), ecdsa or rsa. */
  hostKeyType?: "ed25519" | "ecdsa" | "rsa";
  /** Loopback address to listen on (default 127.0.0.1): several servers can share one port. */
  address?: string;
  /** Port (default: a free one). */
  port?: number;
  /** A network namespace to run in (`ip netns exec`): the address is one of its interfaces'. */
  netns?: string;
}

export class Sshd {
  readonly dir: string;
  readonly port: number;
  /** The client's private key (unencrypted) and its public half in authorized_keys. */
  readonly clientKey: string;
  readonly hostKeyPub: string;
  /** A known_hosts file that trusts this server (written at start). */
  readonly knownHosts: string;
  address = "127.0.0.1";
  netns: string | undefined;
  private proc: ReturnType<typeof Bun.spawn> | null = null;
  stderr = "";

  private constructor(dir: string, port: number, hostKeyType: string) {
    this.dir = dir;
    this.port = port;
    this.clientKey = join(dir, "id_ed25519");
    this.hostKeyPub = readFileSync(join(dir, `ssh_host_${hostKeyType}_key.pub`), "utf8").trim();
    this.knownHosts = join(dir, "known_hosts");
  }

  static async start(opts: SshdOptions = {}): Promise<Sshd> {
    const dir = mkdtempSync(join(tmpdir(), "xcimg-sshd-"));
    chmodSync(dir, 0o755);
    const type = opts.hostKeyType ?? "ed25519";
    keygen(join(dir, `ssh_host_${type}_key`), type);
    keygen(join(dir, "id_ed25519"), "ed25519");
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "id_ed25519.pub")));
    const port = opts.port ?? (await freePort());
    const address = opts.address ?? "127.0.0.1";
    const cfg = [
      `Port ${port}`,
      `ListenAddress ${address}`,
      `HostKey ${join(dir, `ssh_host_${type}_key`)}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "PrintMotd no",
      "LogLevel ERROR",
      ...(opts.config ?? []),
    ];
    writeFileSync(join(dir, "sshd_config"), `${cfg.join("\n")}\n`);
    const s = new Sshd(dir, port, type);
    s.address = address;
    s.netns = opts.netns;
    const key = s.hostKeyPub.split(" ").slice(0, 2).join(" ");
    writeFileSync(s.knownHosts, `[${address}]:${port} ${key}\n`);
    mkdirSync(join(dir, "run"), { recursive: true });
    // private /run in a new mount namespace; exec keeps one pid for the listener
    const script = `mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f '${join(dir, "sshd_config")}'`;
    const inNetns = opts.netns ? ["ip", "netns", "exec", opts.netns] : [];
    s.proc = Bun.spawn([...inNetns, "unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script], { stdout: "ignore", stderr: "pipe" });
    const errs = s.proc.stderr as ReadableStream<Uint8Array>;
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of errs) s.stderr += dec.decode(chunk);
    })();
    await s.waitReady();
    return s;
  }

  /** Pid of the listening sshd (the per-connection sshd processes are its children). */
  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  /** Kill every per-connection sshd child: drops open sessions, the listener stays up. */
  killSessions(): number {
    let n = 0;
    for (const pid of childrenOf(this.pid)) {
      try {
        process.kill(pid, "SIGKILL");
        n++;
      } catch {
        // already gone
      }
    }
    return n;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) throw new Error(`sshd exited: ${this.stderr}`);
      if (this.netns ? listening(this.netns, this.port) : await banner(this.port, this.address)) return;
      await Bun.sleep(50);
    }
    throw new Error(`sshd did not start on port ${this.port}: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    if (this.proc) {
      for (const pid of childrenOf(this.pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      this.proc.kill("SIGTERM");
      await this.proc.exited;
      this.proc = null;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function keygen(path: string, type: string): void {
  const r = Bun.spawnSync(["ssh-keygen", "-q", "-t", type, "-N", "", "-C", "xcimg-test", "-f", path], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSafe(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // process gone
  }
  return out;
}

function readdirSafe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True once something listens on the port inside the namespace (the test's own process is outside it). */
function listening(netns: string, port: number): boolean {
  const r = Bun.spawnSync(["ip", "netns", "exec", netns, "ss", "-Hltn", `sport = :${port}`], { stdout: "pipe" });
  return r.stdout.toString().trim() !== "";
}

/** True once something on the port answers with an SSH banner. */
async function banner(port: number, hostname = "127.0.0.1"): Promise<boolean> {
  return await new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      resolve(ok);
    };
    Bun.connect({
      hostname,
      port,
      socket: {
        data(sock, data) {
          finish(Buffer.from(data).toString("latin1").startsWith("SSH-"));
          sock.end();
        },
        error() {
          finish(false);
        },
        close() {
          finish(false);
        },
        connectError() {
          finish(false);
        },
      },
    }).catch(() => finish(false));
    setTimeout(() => finish(false), 1000);
  });
}
