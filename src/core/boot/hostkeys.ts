import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DataError, fsError } from "../errors";
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

/**
 * All nodes' host keys in one file under xcimg's private state directory (next to the
 * database, never under the web-served installdir), mode 0600: one read and at most one
 * write per `xcimg boot`, instead of two files per node — creating 20,000 small files is what
 * made 10,000 nodes slow. `ssh_known_hosts` beside it lists every node's public key under
 * its name and addresses, ready for GlobalKnownHostsFile on the management node.
 */
interface StoredKey extends HostKey {
  /** Names and addresses the node answers to, for ssh_known_hosts. */
  names: string[];
}

export class HostKeyStore {
  readonly file: string;
  readonly knownHosts: string;
  private readonly keys: Record<string, StoredKey>;
  private dirty = false;
  created = 0;

  constructor(readonly stateDir: string) {
    this.file = join(stateDir, "ssh-host-keys.json");
    this.knownHosts = join(stateDir, "ssh_known_hosts");
    this.keys = {};
    if (existsSync(this.file)) {
      try {
        Object.assign(this.keys, JSON.parse(readFileSync(this.file, "utf8")) as Record<string, StoredKey>);
      } catch (e) {
        throw new DataError(`cannot read the node host keys in ${this.file}: ${(e as Error).message}`, {
          hint: "restore it from a backup: without it every node gets a new host key and known_hosts entries break",
        });
      }
    }
  }

  /** The node's key, made on first use; `names` are recorded for ssh_known_hosts. */
  get(node: string, names: string[] = []): HostKey {
    let k = this.keys[node];
    const all = [node, ...names.filter((n) => n && n !== node)];
    if (!k) {
      k = { ...newEd25519HostKey(`root@${node}`), names: all };
      this.keys[node] = k;
      this.created++;
      this.dirty = true;
    } else if (k.names.join(",") !== all.join(",")) {
      k.names = all;
      this.dirty = true;
    }
    return { private: k.private, public: k.public };
  }

  /** A key made elsewhere (the writer thread) for a node that has none, as get() would have made it. */
  adopt(node: string, key: HostKey, names: string[] = []): void {
    if (this.keys[node]) return;
    this.keys[node] = { ...key, names: [node, ...names.filter((n) => n && n !== node)] };
    this.created++;
    this.dirty = true;
  }

  has(node: string): boolean {
    return Object.hasOwn(this.keys, node);
  }

  save(): void {
    if (!this.dirty) return;
    try {
      mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw fsError(e, `cannot create ${this.stateDir}`);
    }
    writeFileAtomic(this.file, `${JSON.stringify(this.keys, null, 1)}\n`, 0o600);
    const lines = Object.values(this.keys).map((k) => `${k.names.join(",")} ${k.public.split(" ").slice(0, 2).join(" ")}`);
    writeFileAtomic(this.knownHosts, `${lines.sort().join("\n")}\n`, 0o644);
    this.dirty = false;
  }
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
