import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostKeyStore } from "../boot/hostkeys";
import { stateDir } from "../boot/paths";
import type { Context } from "../context";
import { hostKeyName } from "./known-hosts";
import { KEEPALIVE, type SshTarget } from "./ssh";
import { nodeTarget, type SshFlags } from "./target";

/**
 * Reaching a cloned (or cloning) node over SSH: it presents the host key xcimg made for it
 * (kept with the database, listed in <state dir>/ssh_known_hosts), so that key — and no other
 * — is trusted, whatever is in the user's known_hosts and whether or not the node answers on
 * port 22. A small known_hosts file naming each node under the address and port dialled is
 * made for the call and removed after it.
 */
export class NodeTrust {
  private readonly dir: string;
  readonly file: string;
  private readonly keys = new Map<string, string>();

  constructor(ctx: Context) {
    const kh = new HostKeyStore(stateDir(ctx.config)).knownHosts;
    if (existsSync(kh)) {
      for (const line of readFileSync(kh, "utf8").split("\n")) {
        const [names, type, key] = line.trim().split(/\s+/);
        if (!names || !type || !key) continue;
        const node = names.split(",")[0] as string;
        this.keys.set(node, `${type} ${key}`);
      }
    }
    this.dir = mkdtempSync(join(tmpdir(), "xcimg-clone-ssh-"));
    this.file = join(this.dir, "known_hosts");
    writeFileSync(this.file, "", { mode: 0o600 });
  }

  hasKey(node: string): boolean {
    return this.keys.has(node);
  }

  /** The SSH target of a node, trusting only its xcimg host key. */
  target(ctx: Context, node: string, flags: SshFlags): SshTarget {
    const t = nodeTarget(ctx, node, flags);
    const key = this.keys.get(node);
    if (key) {
      const names = [...new Set([hostKeyName(node, t.port), hostKeyName(t.host, t.port)])].join(",");
      writeFileSync(this.file, `${names} ${key}\n`, { flag: "a" });
    }
    return { ...t, knownHosts: this.file, acceptNewHostKey: false };
  }

  /** OpenSSH client options for the same trust (rsync's transport). */
  sshCommand(t: SshTarget): string[] {
    const argv = ["ssh", "-p", String(t.port), "-l", t.user, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${this.file}`];
    argv.push("-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR");
    argv.push("-o", `ServerAliveInterval=${KEEPALIVE.intervalSeconds}`, "-o", `ServerAliveCountMax=${KEEPALIVE.countMax}`);
    if (existsSync(t.identity)) argv.push("-i", t.identity);
    return argv;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
