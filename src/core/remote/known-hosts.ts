import { createHash, createHmac, randomBytes } from "node:crypto";
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname } from "node:path";
import { fsError } from "../errors";

/**
 * OpenSSH's known_hosts, read and appended by us (ssh2 has no parser). Understood: plain and
 * hashed (`|1|salt|hash`) host fields, comma lists, `*`/`?` wildcards and `!` negation,
 * `[host]:port` names for ports other than 22, every key type, and the `@revoked` marker.
 * `@cert-authority` lines are skipped: ssh2 does not verify host certificates.
 */
export interface KnownHostEntry {
  file: string;
  line: number;
  marker: "" | "@revoked" | "@cert-authority";
  hosts: string;
  type: string;
  blob: Buffer;
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` and ssh print it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The word OpenSSH uses for a key type in messages: ED25519, ECDSA, RSA, DSA. */
export function keyLabel(type: string): string {
  if (type.includes("ed25519")) return "ED25519";
  if (type.includes("ecdsa")) return "ECDSA";
  if (type.includes("rsa")) return "RSA";
  if (type.includes("dss")) return "DSA";
  return type.toUpperCase();
}

/** How a host is written in known_hosts: `name` on port 22, else `[name]:port`. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function readKnownHosts(file: string): KnownHostEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw fsError(e, `cannot read known_hosts file ${file}`);
  }
  return parseKnownHosts(text, file);
}

export function parseKnownHosts(text: string, file = "known_hosts"): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? "").trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry["marker"] = "";
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") marker = fields.shift() as KnownHostEntry["marker"];
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64) continue; // malformed lines are ignored, as ssh does
    const blob = Buffer.from(b64, "base64");
    if (blob.length === 0 || keyType(blob) !== type) continue;
    out.push({ file, line: i + 1, marker, hosts, type, blob });
  }
  return out;
}

/** Does the host field of an entry name `name` (already in `[host]:port` form if needed)? */
export function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return mac === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    const p = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (wildcard(p, name.toLowerCase())) {
      if (negated) return false; // a negated match rules the entry out, whatever else matches
      matched = true;
    }
  }
  return matched;
}

function wildcard(pattern: string, s: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return pattern === s;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(s);
}

export type HostKeyVerdict =
  | { status: "ok"; entry: KnownHostEntry }
  | { status: "changed"; entry: KnownHostEntry }
  | { status: "revoked"; entry: KnownHostEntry }
  | { status: "unknown"; otherTypes: string[] };

/**
 * OpenSSH's decision for a presented key: revoked beats everything; a known key of the same
 * type that equals it is ok; one that differs means the host key CHANGED; keys known only
 * of other types, or none, leave the host unknown.
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], names: readonly string[], blob: Buffer): HostKeyVerdict {
  const type = keyType(blob);
  const forHost = entries.filter((e) => e.marker !== "@cert-authority" && names.some((n) => hostsMatch(e.hosts, n)));
  const revoked = entries.find((e) => e.marker === "@revoked" && e.blob.equals(blob));
  if (revoked) return { status: "revoked", entry: revoked };
  const plain = forHost.filter((e) => e.marker === "");
  const same = plain.find((e) => e.blob.equals(blob));
  if (same) return { status: "ok", entry: same };
  const changed = plain.find((e) => sameFamily(e.type, type));
  if (changed) return { status: "changed", entry: changed };
  return { status: "unknown", otherTypes: [...new Set(plain.map((e) => e.type))] };
}

function sameFamily(a: string, b: string): boolean {
  return keyLabel(a) === keyLabel(b) && (!a.startsWith("ecdsa") || a === b);
}

/** ssh2 host key algorithm names for a known_hosts key type. */
function algorithmsFor(type: string): string[] {
  if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [type];
}

const DEFAULT_HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/**
 * Host key algorithms in preference order: the types already known for this host first, as
 * OpenSSH orders them, so a host with an RSA and an ED25519 key is checked against the key we
 * know rather than reported as unknown.
 */
export function hostKeyAlgorithms(entries: readonly KnownHostEntry[], names: readonly string[]): string[] {
  const known = entries.filter((e) => e.marker === "" && names.some((n) => hostsMatch(e.hosts, n))).flatMap((e) => algorithmsFor(e.type));
  const first = DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => known.includes(a));
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** Append `names key` as ssh does with StrictHostKeyChecking=accept-new (plain, not hashed). */
export function appendKnownHost(file: string, names: readonly string[], blob: Buffer): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const prefix = existsSync(file) && !endsWithNewline(file) ? "\n" : "";
    appendFileSync(file, `${prefix}${names.join(",")} ${keyType(blob)} ${blob.toString("base64")}\n`, { mode: 0o644 });
  } catch (e) {
    throw fsError(e, `cannot add the host key to ${file}`);
  }
}

function endsWithNewline(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** A hashed host field for `name`, as `ssh-keygen -H` writes it (used by tests and tools). */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}
