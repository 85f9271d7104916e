import { readFileSync } from "node:fs";
import { DataError, fsError, PermissionFailure, RemoteError, UsageError } from "../errors";
import { armor, keyType, NAMESPACE, signedData, sshString } from "./sshsig";

/**
 * Who signs: a private key file (OpenSSH or PEM, ed25519 or RSA, unencrypted — as `ssh -i`
 * would use it) or a key held by ssh-agent (SSH_AUTH_SOCK). Signing goes through ssh2's key
 * parser and agent client, the SSH library the project already uses; the signature format is
 * sshsig.ts's.
 */
export interface Signer {
  /** Public key blob. */
  publicKey: Buffer;
  /** Where the key is, for messages: the file or "ssh-agent". */
  source: string;
  sign(data: Buffer): Promise<Buffer>;
}

type Ssh2 = typeof import("ssh2");

function formatFor(blob: Buffer): "ssh-ed25519" | "rsa-sha2-512" {
  const t = keyType(blob);
  if (t === "ssh-ed25519") return "ssh-ed25519";
  if (t === "ssh-rsa") return "rsa-sha2-512";
  throw new UsageError(`cannot sign with a ${t} key: use an ed25519 or RSA key`);
}

function fileSigner(ssh2: Ssh2, path: string, text: Buffer): Signer {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) {
    if (/encrypt|passphrase/i.test(parsed.message))
      throw new UsageError(`the key ${path} is protected by a passphrase`, {
        hint: `load it into ssh-agent ('ssh-add ${path}') and sign with --key ${path}.pub or without --key`,
      });
    throw new UsageError(`${path} is not a private key ssh can use: ${parsed.message}`);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) throw new UsageError(`${path} holds no private key`);
  const publicKey = Buffer.from(key.getPublicSSH());
  const format = formatFor(publicKey);
  return {
    publicKey,
    source: path,
    async sign(data) {
      const raw = key.sign(data, format === "rsa-sha2-512" ? "sha512" : undefined);
      if (raw instanceof Error) throw new DataError(`signing with ${path} failed: ${raw.message}`);
      return Buffer.concat([sshString(format), sshString(Buffer.from(raw))]);
    },
  };
}

/** The public key blob in an authorized_keys-style line (a .pub file). */
function publicKeyLine(text: string): Buffer | null {
  const m = /^(ssh-ed25519|ssh-rsa)\s+([A-Za-z0-9+/=]+)/.exec(text.trim());
  return m ? Buffer.from(m[2] as string, "base64") : null;
}

async function agentSigner(ssh2: Ssh2, sock: string, want: Buffer | null): Promise<Signer> {
  const agent = new ssh2.OpenSSHAgent(sock);
  const keys = await new Promise<import("ssh2").ParsedKey[]>((resolve, reject) =>
    agent.getIdentities((err, list) =>
      err ? reject(new RemoteError(`ssh-agent at ${sock}: ${err.message}`, { cause: err })) : resolve((list ?? []) as import("ssh2").ParsedKey[]),
    ),
  );
  const usable = keys.filter((k) => k.type === "ssh-ed25519" || k.type === "ssh-rsa");
  const key = want ? usable.find((k) => Buffer.from(k.getPublicSSH()).equals(want)) : usable[0];
  if (!key)
    throw new UsageError(want ? "the ssh-agent does not hold the key given with --key" : "the ssh-agent holds no ed25519 or RSA key", {
      hint: "add one with 'ssh-add <keyfile>', or give a key file with --key",
    });
  const publicKey = Buffer.from(key.getPublicSSH());
  const format = formatFor(publicKey);
  return {
    publicKey,
    source: "ssh-agent",
    sign: (data) =>
      new Promise((resolve, reject) =>
        agent.sign(key, data, { hash: "sha512" }, (err, sig) =>
          err || !sig
            ? reject(new PermissionFailure(`the ssh-agent refused to sign: ${err?.message ?? "no signature"}`, { cause: err }))
            : resolve(Buffer.concat([sshString(format), sshString(Buffer.from(sig))])),
        ),
      ),
  };
}

/**
 * `--key FILE` (a private key, or a .pub whose private half is in the agent); without it the
 * agent's first ed25519/RSA key when SSH_AUTH_SOCK is set, else ssh.identity.
 */
export async function openSigner(opts: { key?: string; agentSock?: string; defaultKey: string }): Promise<Signer> {
  const ssh2 = await import("ssh2");
  const path = opts.key ?? (opts.agentSock ? null : opts.defaultKey);
  if (path === null) return agentSigner(ssh2, opts.agentSock as string, null);
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (e) {
    throw fsError(e, `cannot read the signing key ${path}`);
  }
  const pub = publicKeyLine(text.toString("latin1"));
  if (pub) {
    if (!opts.agentSock)
      throw new UsageError(`${path} is a public key and no ssh-agent is running (SSH_AUTH_SOCK)`, {
        hint: "give the private key file, or start ssh-agent and ssh-add it",
      });
    return agentSigner(ssh2, opts.agentSock, pub);
  }
  return fileSigner(ssh2, path, text);
}

/** The armored SSHSIG of `message` in xcimg's namespace. */
export async function signMessage(signer: Signer, message: Uint8Array, namespace = NAMESPACE): Promise<string> {
  const signature = await signer.sign(signedData(message, namespace, "sha512"));
  return armor({ publicKey: signer.publicKey, namespace, hashAlgorithm: "sha512", signature });
}
