import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { DataError } from "../errors";

/**
 * OpenSSH's signature format (PROTOCOL.sshsig in openssh-portable), as `ssh-keygen -Y sign`
 * writes it and `ssh-keygen -Y verify` reads it:
 *   blob   = "SSHSIG" u32(1) string(publickey) string(namespace) string(reserved)
 *            string(hash_algorithm) string(signature)
 *   signed = "SSHSIG" string(namespace) string(reserved) string(hash_algorithm) string(H(message))
 * armored between -----BEGIN/END SSH SIGNATURE----- in base64 lines of 70 characters.
 * Verification is ours, in TypeScript over node:crypto, rather than a call to the management
 * node's ssh-keygen: `-Y` appeared in OpenSSH 8.0 and its options changed since (EL7's 7.4 has
 * none), and a verdict that gates what nodes boot must not depend on which ssh-keygen is
 * installed or how its output is worded.
 */
export const NAMESPACE = "xcimg-image";
const MAGIC = Buffer.from("SSHSIG");
const BEGIN = "-----BEGIN SSH SIGNATURE-----";
const END = "-----END SSH SIGNATURE-----";

export function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

export class SshReader {
  private off = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  u32(): number {
    if (this.off + 4 > this.buf.length) throw new DataError(`${this.what} is truncated`);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  string(): Buffer {
    const n = this.u32();
    if (this.off + n > this.buf.length) throw new DataError(`${this.what} is truncated`);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  bytes(n: number): Buffer {
    if (this.off + n > this.buf.length) throw new DataError(`${this.what} is truncated`);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  get done(): boolean {
    return this.off === this.buf.length;
  }
}

export interface SshSignature {
  /** The signer's public key blob (ssh wire format), as in authorized_keys after base64. */
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: "sha256" | "sha512";
  /** string(format) string(signature bytes) */
  signature: Buffer;
}

/** What is actually signed for `message` (PROTOCOL.sshsig "Signed Data"). */
export function signedData(message: Uint8Array, namespace: string, hashAlgorithm: "sha256" | "sha512" = "sha512"): Buffer {
  const digest = createHash(hashAlgorithm).update(message).digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(""), sshString(hashAlgorithm), sshString(digest)]);
}

export function armor(sig: SshSignature): string {
  const blob = Buffer.concat([
    MAGIC,
    Buffer.from([0, 0, 0, 1]),
    sshString(sig.publicKey),
    sshString(sig.namespace),
    sshString(""),
    sshString(sig.hashAlgorithm),
    sshString(sig.signature),
  ]);
  const b64 = blob.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 70) lines.push(b64.slice(i, i + 70));
  return `${BEGIN}\n${lines.join("\n")}\n${END}\n`;
}

export function parseArmored(text: string, where: string): SshSignature {
  const t = text.trim();
  if (!t.startsWith(BEGIN) || !t.endsWith(END)) throw new DataError(`${where} is not an SSH signature (-----BEGIN SSH SIGNATURE-----)`);
  const body = t.slice(BEGIN.length, t.length - END.length).replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new DataError(`${where}: the signature is not valid base64`);
  const r = new SshReader(Buffer.from(body, "base64"), where);
  if (!r.bytes(6).equals(MAGIC)) throw new DataError(`${where}: not an SSHSIG blob`);
  const version = r.u32();
  if (version !== 1) throw new DataError(`${where}: SSHSIG version ${version} is not supported (only 1)`);
  const publicKey = Buffer.from(r.string());
  const namespace = r.string().toString();
  r.string(); // reserved
  const hash = r.string().toString();
  if (hash !== "sha256" && hash !== "sha512") throw new DataError(`${where}: hash algorithm '${hash}' is not sha256 or sha512`);
  const signature = Buffer.from(r.string());
  if (!r.done) throw new DataError(`${where}: trailing bytes after the signature`);
  return { publicKey, namespace, hashAlgorithm: hash, signature };
}

/** The key type named in a public key blob (ssh-ed25519, ssh-rsa, ...). */
export function keyType(blob: Buffer): string {
  return new SshReader(blob, "public key").string().toString();
}

/** SHA256:<base64 without padding>, as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

export function keyLabel(blob: Buffer): string {
  const t = keyType(blob);
  const name = t === "ssh-ed25519" ? "ED25519" : t === "ssh-rsa" ? "RSA" : t;
  return `${name} ${fingerprint(blob)}`;
}

const b64url = (b: Buffer) => b.toString("base64url");

function stripMpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** A node:crypto public key from an SSH public key blob (ed25519 and RSA; others are refused). */
export function publicKeyObject(blob: Buffer): KeyObject {
  const r = new SshReader(blob, "public key");
  const type = r.string().toString();
  if (type === "ssh-ed25519") {
    const pk = r.string();
    if (pk.length !== 32) throw new DataError("ed25519 public key is not 32 bytes");
    return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(pk) }, format: "jwk" });
  }
  if (type === "ssh-rsa") {
    const e = stripMpint(r.string());
    const n = stripMpint(r.string());
    if (n.length * 8 < 2040) throw new DataError(`RSA key of ${n.length * 8} bits is too small (at least 2048)`);
    return createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" });
  }
  throw new DataError(`signatures with ${type} keys are not supported (use an ed25519 or RSA key)`);
}

/** True when `sig` is a valid signature of `message` by the key inside it, in `namespace`. */
export function verifySshSignature(sig: SshSignature, message: Uint8Array, namespace: string): boolean {
  if (sig.namespace !== namespace) return false;
  const key = publicKeyObject(sig.publicKey);
  const r = new SshReader(sig.signature, "signature");
  const format = r.string().toString();
  const raw = r.string();
  const data = signedData(message, sig.namespace, sig.hashAlgorithm);
  const type = keyType(sig.publicKey);
  if (type === "ssh-ed25519") return format === "ssh-ed25519" && cryptoVerify(null, data, key, raw);
  // ssh-keygen signs with rsa-sha2-512; plain ssh-rsa (SHA-1) is refused as OpenSSH refuses it
  if (format === "rsa-sha2-512") return cryptoVerify("sha512", data, key, raw);
  if (format === "rsa-sha2-256") return cryptoVerify("sha256", data, key, raw);
  return false;
}
