import { readFileSync } from "node:fs";
import { ConfigError, DataError, fsError } from "../errors";

/**
 * ssh-keygen's allowed_signers file (ssh-keygen(1) "ALLOWED SIGNERS"), so one file serves
 * both `ssh-keygen -Y verify -f allowed_signers` and xcimg:
 *   principals [options] keytype base64-key [comment]
 * principals: comma-separated patterns (* and ?); options: namespaces="pattern,...",
 * valid-after=/valid-before=YYYYMMDD[HHMM[SS]][Z], cert-authority. Certificate authorities are
 * not supported (xcimg verifies plain keys): such lines are skipped, never trusted.
 */
export interface AllowedSigner {
  principals: string[];
  namespaces: string[] | null;
  validAfter: number | null;
  validBefore: number | null;
  key: Buffer;
  line: number;
}

const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** Split on whitespace, keeping double-quoted runs (namespaces="a,b") together. */
function tokens(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    if (!quoted && /\s/.test(c)) {
      if (cur) out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

function parseTime(v: string, where: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2}))?)?(Z?)$/i.exec(v);
  if (!m) throw new DataError(`${where}: bad time '${v}' (YYYYMMDD[HHMM[SS]][Z])`);
  const [, y, mo, d, h = "00", mi = "00", s = "00", z] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${z ? "Z" : ""}`;
  return new Date(iso).getTime();
}

export function parseAllowedSigners(text: string, file: string): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const where = `${file}:${i + 1}`;
    const t = tokens(line);
    const principals = (t.shift() ?? "").split(",").filter((p) => p);
    let opts: string[] = [];
    if (t[0] && !KEY_TYPES.test(t[0])) opts = (t.shift() as string).split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
    const type = t.shift();
    const b64 = t.shift();
    if (!principals.length || !type || !b64 || !KEY_TYPES.test(type))
      throw new DataError(`${where}: not an allowed_signers line (principals [options] keytype key)`);
    const signer: AllowedSigner = { principals, namespaces: null, validAfter: null, validBefore: null, key: Buffer.from(b64, "base64"), line: i + 1 };
    let ca = false;
    for (const o of opts) {
      const [k, ...rest] = o.split("=");
      const v = rest.join("=").replace(/^"|"$/g, "");
      if (k === "cert-authority") ca = true;
      else if (k === "namespaces") signer.namespaces = v.split(",").filter((n) => n);
      else if (k === "valid-after") signer.validAfter = parseTime(v, where);
      else if (k === "valid-before") signer.validBefore = parseTime(v, where);
      else throw new DataError(`${where}: unknown option '${k}'`);
    }
    if (!ca) out.push(signer);
  });
  return out;
}

export function readAllowedSigners(file: string): AllowedSigner[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const err = fsError(e, `cannot read the allowed signers file ${file}`);
    throw new ConfigError(err.message, { hint: "set [trust] allowed_signers to a file in ssh-keygen's allowed_signers format (docs/provenance.md)", cause: e });
  }
  return parseAllowedSigners(text, file);
}

/** ssh's pattern matching: * any run, ? one character; a leading ! negates. */
export function matchPattern(value: string, pattern: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(value);
}

function matchList(value: string, patterns: string[]): boolean {
  let ok = false;
  for (const p of patterns) {
    if (p.startsWith("!")) {
      if (matchPattern(value, p.slice(1))) return false;
    } else if (matchPattern(value, p)) ok = true;
  }
  return ok;
}

/** The principals allowed to sign in `namespace` with `key` now (ssh-keygen -Y find-principals). */
export function principalsFor(signers: AllowedSigner[], key: Buffer, namespace: string, now = Date.now()): string[] {
  const out: string[] = [];
  for (const s of signers) {
    if (!s.key.equals(key)) continue;
    if (s.namespaces && !matchList(namespace, s.namespaces)) continue;
    if (s.validAfter !== null && now < s.validAfter) continue;
    if (s.validBefore !== null && now > s.validBefore) continue;
    out.push(...s.principals);
  }
  return out;
}
