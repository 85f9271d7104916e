import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "../context";
import { ConfigError, RemoteError } from "../errors";
import { shq } from "../remote/shell";
import { connect, type RemoteSession, type SshTarget } from "../remote/ssh";

/**
 * How a service node reaches its management node: the MN's own sshd, its host key pinned by
 * sn.known_hosts (never learnt on first contact: an SN that trusted whatever answered would
 * serve whatever image an impostor sends), the [ssh] user and key. ssh2 runs the MN's
 * `xcimg sn snapshot`; rsync moves files over OpenSSH's client with the same known_hosts and
 * StrictHostKeyChecking=yes, so both transports trust exactly the same key.
 */
export function mnTarget(ctx: Context, flags: { mn?: string } = {}): SshTarget {
  const mn = flags.mn || ctx.config["sn.mn"];
  if (!mn) throw new ConfigError("no management node to sync from", { hint: "set sn.mn in the config, XCIMG_SN_MN, or give --mn <host>" });
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(mn)) throw new ConfigError(`sn.mn '${mn}' is not a host name or address`);
  const kh = ctx.config["sn.known_hosts"];
  if (!existsSync(kh))
    throw new RemoteError(`the management node's host key is not pinned: ${kh} does not exist`, {
      hint: `put the MN's key there ('ssh-keyscan -p ${ctx.config["sn.mn_port"]} ${mn} > ${kh}', then check its fingerprint on the MN), or set sn.known_hosts / XCIMG_SN_KNOWN_HOSTS`,
    });
  return {
    node: mn,
    host: mn,
    port: ctx.config["sn.mn_port"],
    user: ctx.config["ssh.user"],
    identity: ctx.config["ssh.identity"],
    knownHosts: kh,
    acceptNewHostKey: false,
    agent: ctx.env.SSH_AUTH_SOCK || undefined,
  };
}

export function mnConnect(ctx: Context, t: SshTarget): Promise<RemoteSession> {
  return connect(t, { signal: ctx.signal, log: ctx.log, readyTimeoutMs: 15_000 });
}

/** Run one command on the MN; its stdout (capped) and exit status. */
export async function mnRun(s: RemoteSession, argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = await s.exec(argv.map(shq).join(" "));
  let stdout = "";
  let stderr = "";
  p.channel.on("data", (d: Buffer) => {
    if (stdout.length < 1 << 20) stdout += d.toString("utf8");
  });
  p.channel.stderr.on("data", (d: Buffer) => {
    if (stderr.length < 1 << 16) stderr += d.toString("utf8");
  });
  const { code } = await p.done;
  return { code, stdout, stderr };
}

/** An SSH target whose rsync runs may share one connection (startMux). */
export type MnTarget = SshTarget & { controlPath?: string };

/** OpenSSH client argv for rsync -e: the same pinned key, no prompts. */
export function sshCommand(t: MnTarget): string[] {
  const argv = ["ssh", "-p", String(t.port), "-l", t.user, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"];
  argv.push("-o", `UserKnownHostsFile=${t.knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR");
  if (existsSync(t.identity)) argv.push("-i", t.identity);
  // a client of startMux's master; ControlMaster=no: if the master is gone, ssh connects on its own
  if (t.controlPath) argv.push("-o", `ControlPath=${t.controlPath}`, "-o", "ControlMaster=no");
  return argv;
}

/**
 * One SSH connection for all the rsync runs of a sync. A sync runs rsync 5–8 times (the
 * definitions, the comparison, the transfer, the manifest, host keys, ...); each would log in
 * again, ~0.36 s apiece on loopback against ~0.14 s through a master (docs/bench/sn.md). The
 * master is started here, backgrounded with its output closed (a master that rsync's own ssh
 * started would hold rsync's stderr open after rsync exits), in a private directory; close()
 * stops it. A master that cannot start only costs the logins: the target is returned as is.
 * One killed with the sync exits by itself after ControlPersist's idle time.
 */
export function startMux(t: SshTarget): { target: MnTarget; close(): void } {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), "xcimg-sn-ssh-"));
  } catch {
    return { target: t, close() {} };
  }
  const controlPath = join(dir, "mn");
  const r = spawnSync(
    sshCommand(t)[0] as string,
    [...sshCommand(t).slice(1), "-M", "-N", "-f", "-o", `ControlPath=${controlPath}`, "-o", "ControlPersist=60", t.host],
    {
      stdio: "ignore",
      timeout: 30_000,
    },
  );
  if (r.status !== 0 || !existsSync(controlPath)) {
    rmSync(dir, { recursive: true, force: true });
    return { target: t, close() {} };
  }
  return {
    target: { ...t, controlPath },
    close() {
      spawnSync("ssh", ["-o", `ControlPath=${controlPath}`, "-O", "exit", t.host], { stdio: "ignore", timeout: 10_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
