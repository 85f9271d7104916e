import { readFileSync } from "node:fs";
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { DataError, InterruptedError, RemoteError, XcimgError } from "../errors";
import type { Logger } from "../log";
import { appendKnownHost, fingerprint, hostKeyAlgorithms, hostKeyName, keyLabel, keyType, readKnownHosts, verifyHostKey } from "./known-hosts";

/**
 * SSH to a node with ssh2, the way `ssh -o StrictHostKeyChecking=yes` would: the host key is
 * checked against our known_hosts reader before any credential is offered, and every failure
 * (unreachable, refused, unknown or changed host key, authentication) is a RemoteError (exit
 * 69) whose message says which and what to do next. ssh2 is imported on first use so commands
 * that never reach a node do not pay for loading it.
 */
export interface SshTarget {
  /** The node name, for messages and known_hosts. */
  node: string;
  /** Where to connect: hosts.ip if set, else the name. */
  host: string;
  port: number;
  user: string;
  /** Private key file; a missing file is fine when an agent is available. */
  identity: string;
  knownHosts: string;
  /** Record the key of a host not yet in known_hosts instead of refusing it. */
  acceptNewHostKey: boolean;
  /** SSH_AUTH_SOCK, when set. */
  agent?: string;
}

export interface HostKeyInfo {
  type: string;
  fingerprint: string;
  /** True when this connection added the key to known_hosts. */
  added: boolean;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
  signal: string | null;
}

export interface RemoteProcess {
  /** stdout is the channel itself; stderr is channel.stderr; write to it for stdin. */
  channel: ClientChannel;
  /** Resolves with the exit status; rejects with a RemoteError if the connection drops first. */
  done: Promise<{ code: number | null; signal: string | null }>;
  /** Ask the remote side to stop (SIGKILL where the server honours signals) and close the channel. */
  kill(): void;
}

/**
 * How long a silent node is given: probed every 15 s, dropped after 4 unanswered probes. The
 * same for capture's and clone's ssh2 sessions and for the OpenSSH client rsync runs
 * (node-ssh.ts), so a node that dies mid-transfer fails the same way whichever carries it.
 */
export const KEEPALIVE = { intervalSeconds: 15, countMax: 4 } as const;

const MAX_CAPTURED_STDERR = 64 * 1024;
/**
 * What run() keeps of a command's stdout unless told otherwise. A node is not trusted to answer
 * briefly (a 200 MiB /etc/os-release once grew xcimg to 723 MiB): past the cap the command is
 * stopped and run() fails with a DataError (exit 65) naming what was too large.
 */
export const DEFAULT_MAX_STDOUT = 4 * 1024 * 1024;

export class RemoteSession {
  private lostError: RemoteError | null = null;
  private closed = false;

  constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    readonly hostKey: HostKeyInfo,
  ) {
    client.on("error", (err: Error) => this.markLost(err));
    client.on("close", () => this.markLost(null));
  }

  /** `node (host:port)` for messages. */
  get where(): string {
    return describeTarget(this.target);
  }

  /** Non-null once the connection has gone away underneath us. */
  get lost(): RemoteError | null {
    return this.lostError;
  }

  private markLost(err: Error | null): void {
    if (this.closed || this.lostError) return;
    this.lostError = new RemoteError(`the SSH connection to ${this.where} was lost${err ? `: ${err.message}` : ""}`, {
      hint: "check that the node is up and reachable, then run the command again",
      cause: err ?? undefined,
    });
  }

  /** Run a command; a Buffer is sent byte for byte (node paths need not be UTF-8). */
  exec(command: string | Buffer): Promise<RemoteProcess> {
    return new Promise((resolve, reject) => {
      if (this.lostError) return reject(this.lostError);
      const onChannel = (err: Error | undefined, channel: ClientChannel) => {
        if (err) return reject(this.lostError ?? new RemoteError(`cannot run a command on ${this.where}: ${err.message}`, { cause: err }));
        let exit: { code: number | null; signal: string | null } | null = null;
        channel.on("exit", (code: number | null, signal?: string) => {
          exit = { code: code ?? null, signal: signal ?? null };
        });
        const done = new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
          channel.on("close", () => {
            if (exit) res(exit);
            else rej(this.lostError ?? new RemoteError(`the SSH connection to ${this.where} was lost while a command was running`));
          });
        });
        done.catch(() => {}); // callers that never await it must not see an unhandled rejection
        resolve({
          channel,
          done,
          kill: () => {
            try {
              channel.signal("KILL");
            } catch {
              // the server may not support signals; closing the channel ends the command anyway
            }
            try {
              channel.close();
            } catch {
              // already closed
            }
          },
        });
      };
      try {
        this.client.exec(command as string, onChannel);
      } catch (e) {
        reject(this.lostError ?? new RemoteError(`cannot run a command on ${this.where}: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  /**
   * Run a command to completion, feeding `stdin` and collecting stdout (at most `maxStdout`
   * bytes, else a DataError) and stderr (capped, the rest dropped). `what` names the command in
   * that error ("the capture probe").
   */
  async run(command: string, opts: { stdin?: string | Buffer; signal?: AbortSignal; maxStdout?: number; what?: string } = {}): Promise<ExecResult> {
    const p = await this.exec(command);
    const max = opts.maxStdout ?? DEFAULT_MAX_STDOUT;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let stderr = "";
    p.channel.on("data", (d: Buffer) => {
      if (tooLarge) return;
      size += d.length;
      if (size > max) {
        tooLarge = true;
        chunks.length = 0;
        p.kill();
        return;
      }
      chunks.push(d);
    });
    const overflow = () =>
      new DataError(`${this.where} sent more than ${mib(max)} in answer to ${opts.what ?? "a command"}; stopped it there`, {
        hint: "something the command reads on the node is far larger than it should be (e.g. /etc/os-release); nothing was changed",
      });
    p.channel.stderr.on("data", (d: Buffer) => {
      if (stderr.length < MAX_CAPTURED_STDERR) stderr += d.toString("utf8");
    });
    p.channel.end(opts.stdin ?? "");
    const onAbort = () => p.kill();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const { code, signal } = await p.done;
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (tooLarge) throw overflow();
      return { stdout: Buffer.concat(chunks), stderr, code, signal };
    } catch (e) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (tooLarge) throw overflow();
      throw e;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
  }
}

const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

export function describeTarget(t: SshTarget): string {
  const addr = t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
  return t.host === t.node ? `${t.node}:${t.port}` : `${t.node} (${addr})`;
}

export function abortReason(signal: AbortSignal): XcimgError {
  const r = signal.reason;
  return r instanceof XcimgError ? r : new InterruptedError("interrupted");
}

/** Names the host may be recorded under: the address we dial and the node name. */
function knownHostNames(t: SshTarget): string[] {
  return [...new Set([hostKeyName(t.node, t.port), hostKeyName(t.host, t.port)])];
}

function loadIdentity(t: SshTarget, utils: typeof import("ssh2").utils, log?: Logger): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(t.identity);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new RemoteError(`cannot read the SSH key ${t.identity}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) {
    if (/encrypt|passphrase/i.test(parsed.message)) {
      if (t.agent) {
        log?.debug(`${t.identity} is passphrase-protected; authenticating with the SSH agent only`);
        return undefined;
      }
      throw new RemoteError(`the SSH key ${t.identity} is protected by a passphrase and no SSH agent is running`, {
        hint: `load it into an agent ('eval $(ssh-agent); ssh-add ${t.identity}') so SSH_AUTH_SOCK is set, or point ssh.identity/--identity at an unencrypted key`,
      });
    }
    throw new RemoteError(`the SSH key ${t.identity} cannot be used: ${parsed.message}`, {
      hint: "ssh.identity / --identity must name an OpenSSH or PEM private key",
    });
  }
  return key;
}

/** Connect, verify the host key, authenticate. The session must be closed by the caller. */
export async function connect(t: SshTarget, opts: { signal?: AbortSignal; log?: Logger; readyTimeoutMs?: number } = {}): Promise<RemoteSession> {
  const { Client, utils } = await import("ssh2");
  const privateKey = loadIdentity(t, utils, opts.log);
  if (!privateKey && !t.agent) {
    throw new RemoteError(`no SSH key to log in to ${describeTarget(t)}: ${t.identity} does not exist and SSH_AUTH_SOCK is not set`, {
      hint: "create a key with 'ssh-keygen -t ed25519', install it on the node, or set ssh.identity / --identity",
    });
  }
  const entries = readKnownHosts(t.knownHosts);
  const names = knownHostNames(t);
  let rejection: RemoteError | null = null;
  let presented: Buffer | null = null;
  let toAdd: Buffer | null = null;

  const verifier = (key: Buffer): boolean => {
    presented = key;
    const type = keyType(key);
    const fp = fingerprint(key);
    const label = keyLabel(type);
    const v = verifyHostKey(entries, names, key);
    const shown = hostKeyName(t.host, t.port);
    switch (v.status) {
      case "ok":
        return true;
      case "revoked":
        rejection = new RemoteError(`the ${label} host key of ${describeTarget(t)} (${fp}) is marked @revoked in ${v.entry.file}:${v.entry.line}`, {
          hint: "the key was deliberately revoked: do not connect until the node's keys have been replaced",
        });
        return false;
      case "changed":
        rejection = new RemoteError(
          `REMOTE HOST IDENTIFICATION HAS CHANGED for ${describeTarget(t)}: the ${label} key sent by the remote host is ${fp}, but ${v.entry.file}:${v.entry.line} has a different ${label} key (${fingerprint(v.entry.blob)})`,
          {
            hint: `if the node was reinstalled, remove the old key with 'ssh-keygen -R "${shown}" -f ${t.knownHosts}' and run again with --accept-new-hostkey; otherwise someone may be impersonating it`,
          },
        );
        return false;
      case "unknown":
        if (t.acceptNewHostKey) {
          toAdd = key;
          return true;
        }
        rejection = new RemoteError(
          `the host key of ${describeTarget(t)} is not in ${t.knownHosts}: the ${label} key sent by the remote host is ${fp}` +
            (v.otherTypes.length ? ` (known_hosts only has ${v.otherTypes.map(keyLabel).join(", ")} keys for it)` : ""),
          {
            hint: `check that fingerprint on the node ('ssh-keygen -lf /etc/ssh/ssh_host_${label.toLowerCase()}_key.pub'), then run again with --accept-new-hostkey to record it`,
          },
        );
        return false;
    }
  };

  const client = new Client();
  // ssh2 may emit a second error (e.g. "Connection lost before handshake") after the first has
  // rejected the connect: without a listener it would surface as an unhandled error event
  client.on("error", () => {});
  const config: ConnectConfig = {
    host: t.host,
    port: t.port,
    username: t.user,
    privateKey,
    agent: t.agent,
    hostVerifier: verifier,
    algorithms: { serverHostKey: hostKeyAlgorithms(entries, names) as never },
    readyTimeout: opts.readyTimeoutMs ?? 20_000,
    keepaliveInterval: KEEPALIVE.intervalSeconds * 1000,
    keepaliveCountMax: KEEPALIVE.countMax,
  };

  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      client.end();
      reject(abortReason(opts.signal as AbortSignal));
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    client.once("ready", () => {
      opts.signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    // A connection closed in the middle of the handshake (a node's sshd going down as it
    // reboots, after its banner) emits neither 'error' nor 'ready', and ssh2 clears its
    // readyTimeout on close: without this the promise never settled, and `clone --wait`
    // hung for good on a node that answered a moment later.
    client.once("close", () => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(
        rejection ??
          new RemoteError(`the connection to ${describeTarget(t)} closed before SSH was ready`, {
            hint: "is the node (re)booting? sshd went away mid-handshake",
          }),
      );
    });
    client.once("error", (err: Error & { level?: string; code?: string }) => {
      opts.signal?.removeEventListener("abort", onAbort);
      client.end();
      reject(rejection ?? connectError(t, err, privateKey !== undefined));
    });
    try {
      client.connect(config);
    } catch (e) {
      reject(new RemoteError(`cannot connect to ${describeTarget(t)}: ${(e as Error).message}`, { cause: e }));
    }
  });

  const blob = presented as Buffer | null;
  const info: HostKeyInfo = { type: blob ? keyType(blob) : "unknown", fingerprint: blob ? fingerprint(blob) : "", added: false };
  if (toAdd) {
    try {
      appendKnownHost(t.knownHosts, names, toAdd);
    } catch (e) {
      client.end();
      throw e;
    }
    info.added = true;
    opts.log?.warn(`Permanently added the ${keyLabel(info.type)} host key of ${describeTarget(t)} (${info.fingerprint}) to ${t.knownHosts}`);
  }
  return new RemoteSession(client, t, info);
}

function connectError(t: SshTarget, err: Error & { level?: string; code?: string }, haveKey: boolean): RemoteError {
  const where = describeTarget(t);
  if (err.level === "client-authentication") {
    const tried = [haveKey ? `key ${t.identity}` : null, t.agent ? "the SSH agent" : null].filter(Boolean).join(" and ");
    return new RemoteError(`authentication as ${t.user} on ${where} failed (tried ${tried})`, {
      hint: `add the public key ('ssh-keygen -y -f ${t.identity}') to ~${t.user}/.ssh/authorized_keys on the node, or use --user/--identity`,
      cause: err,
    });
  }
  if (err.level === "client-timeout") {
    return new RemoteError(`timed out connecting to ${where}`, { hint: "is the node up and is sshd listening on that port?", cause: err });
  }
  switch (err.code) {
    case "ECONNREFUSED":
      return new RemoteError(`cannot connect to ${where}: connection refused`, {
        hint: "is sshd running on the node, and is the port right (--port / ssh.port)?",
        cause: err,
      });
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new RemoteError(`cannot resolve the host name ${t.host}`, {
        hint: `set the node's address with 'xcimg node set ${t.node} ip=<address>'`,
        cause: err,
      });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ETIMEDOUT":
      return new RemoteError(`cannot reach ${where}: ${err.code}`, { hint: "check the node is up and routable from this management node", cause: err });
  }
  return new RemoteError(`SSH connection to ${where} failed: ${err.message}`, { cause: err });
}
