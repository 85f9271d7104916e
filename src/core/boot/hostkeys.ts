import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fsError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";

/**
 * Per-node SSH host keys, made once and reused on every `xcimg boot`, so a node keeps its
 * identity across reboots and re-images and known_hosts stays valid. ed25519 in OpenSSH's own
 * private key format (openssh-key-v1, unencrypted), generated in-process: no ssh-keygen
 * spawn per node, which keeps 10,000 nodes within seconds.
 */
export interface HostKey {
  /** PEM text of the private key, as sshd reads /etc/ssh/ssh_host_ed25519_key. */
  private: string;
  /** "ssh-ed25519 AAAA... root@<node>" */
  public: string;
}

export function hostKeyFiles(stateDir: string, node: string): { dir: string; key: string; pub: string } {
  const dir = join(stateDir, "nodes", node);
  return { dir, key: join(dir, "ssh_host_ed25519_key"), pub: join(dir, "ssh_host_ed25519_key.pub") };
}

/** The node's host key, created on first use. */
export function ensureHostKey(stateDir: string, node: string): { key: HostKey; created: boolean } {
  const f = hostKeyFiles(stateDir, node);
  if (existsSync(f.key) && existsSync(f.pub)) {
    try {
      return { key: { private: readFileSync(f.key, "utf8"), public: readFileSync(f.pub, "utf8").trim() }, created: false };
    } catch (e) {
      throw fsError(e, `cannot read the host key of ${node}`);
    }
  }
  const key = newEd25519HostKey(`root@${node}`);
  try {
    mkdirSync(f.dir, { recursive: true, mode: 0o700 });
    chmodSync(f.dir, 0o700);
  } catch (e) {
    throw fsError(e, `cannot create ${f.dir}`);
  }
  writeFileAtomic(f.key, key.private, 0o600, { fsync: false });
  writeFileAtomic(f.pub, `${key.public}\n`, 0o644, { fsync: false });
  return { key, created: true };
}

function sshString(b: Uint8Array | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b) : Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function newEd25519HostKey(comment: string): HostKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d as string, "base64url");
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  const check = randomBytes(4).readUInt32BE();
  let section = Buffer.concat([u32(check), u32(check), sshString("ssh-ed25519"), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    u32(1),
    sshString(pubBlob),
    sshString(section),
  ]);
  const b64 = body.toString("base64").replace(/.{1,70}/g, "$&\n");
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${pubBlob.toString("base64")} ${comment}`,
  };
}
