import { existsSync } from "node:fs";
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

/** OpenSSH client argv for rsync -e: the same pinned key, no prompts. */
export function sshCommand(t: SshTarget): string[] {
  const argv = ["ssh", "-p", String(t.port), "-l", t.user, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"];
  argv.push("-o", `UserKnownHostsFile=${t.knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR");
  if (existsSync(t.identity)) argv.push("-i", t.identity);
  return argv;
}
