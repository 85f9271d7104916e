import { createHash, randomBytes } from "node:crypto";

/**
 * crypt(3) password hashes for the root password in kickstart/AutoYaST/preseed files.
 * Bun has no crypt(3), and the npm packages that offer one either wrap a native addon or
 * implement only MD5; SHA-crypt is a fixed, public algorithm (Ulrich Drepper's
 * "Unix crypt using SHA-256 and SHA-512", the `$5$`/`$6$` formats glibc, anaconda, YaST and
 * debian-installer accept), so we carry our own ~80 lines checked byte for byte against
 * `openssl passwd -5/-6` in the tests.
 */
export type CryptMethod = "sha256" | "sha512";

const B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const ROUNDS_DEFAULT = 5000;

/** Byte orders of the final base-64 encoding, straight from the specification. */
const ORDER_512: [number, number, number][] = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];
const ORDER_256: [number, number, number][] = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];

function b64(n: number, chars: number): string {
  let out = "";
  for (let i = 0; i < chars; i++) {
    out += B64[n & 63];
    n >>>= 6;
  }
  return out;
}

function digest(alg: string, ...parts: Buffer[]): Buffer {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `len` bytes made of repeated copies of `d` (the spec's P and S sequences, and step 11). */
function repeat(d: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += d.length) d.copy(out, i, 0, Math.min(d.length, len - i));
  return out;
}

export function shaCrypt(password: string, salt: string, method: CryptMethod = "sha512", rounds = ROUNDS_DEFAULT): string {
  const alg = method === "sha512" ? "sha512" : "sha256";
  const size = method === "sha512" ? 64 : 32;
  const p = Buffer.from(password, "utf8");
  const s = Buffer.from(salt.slice(0, 16), "utf8");
  const r = Math.min(999_999_999, Math.max(1000, Math.floor(rounds)));

  const b = digest(alg, p, s, p);
  const a = createHash(alg).update(p).update(s).update(repeat(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  const aDigest = a.digest();

  const dp = createHash(alg);
  for (let i = 0; i < p.length; i++) dp.update(p);
  const P = repeat(dp.digest(), p.length);
  const ds = createHash(alg);
  for (let i = 0; i < 16 + (aDigest[0] ?? 0); i++) ds.update(s);
  const S = repeat(ds.digest(), s.length);

  // The 5000+ rounds are the whole cost: hash from one scratch buffer into `c` without
  // allocating (Bun's one-shot hashers are ~2x faster than createHash() per round here).
  const c = Buffer.from(aDigest);
  const scratch = Buffer.alloc(2 * P.length + S.length + size);
  const oneShot = method === "sha512" ? Bun.SHA512 : Bun.SHA256;
  for (let i = 0; i < r; i++) {
    let n = (i & 1 ? P : c).copy(scratch, 0);
    if (i % 3) n += S.copy(scratch, n);
    if (i % 7) n += P.copy(scratch, n);
    n += (i & 1 ? c : P).copy(scratch, n);
    oneShot.hash(scratch.subarray(0, n), c);
  }

  let enc = "";
  for (const [x, y, z] of method === "sha512" ? ORDER_512 : ORDER_256) enc += b64(((c[x] ?? 0) << 16) | ((c[y] ?? 0) << 8) | (c[z] ?? 0), 4);
  enc += method === "sha512" ? b64(c[size - 1] ?? 0, 2) : b64(((c[31] ?? 0) << 8) | (c[30] ?? 0), 3);
  const prefix = method === "sha512" ? "$6$" : "$5$";
  const roundsPart = rounds === ROUNDS_DEFAULT ? "" : `rounds=${r}$`;
  return `${prefix}${roundsPart}${salt.slice(0, 16)}$${enc}`;
}

/** A random 16-character salt from the crypt alphabet. */
export function randomSalt(): string {
  let out = "";
  for (const byte of randomBytes(16)) out += B64[byte & 63];
  return out;
}

/** Already a crypt(3) hash (xCAT passes `$1$`, `$5$`, `$6$` values through unchanged)? */
export function isCryptHash(v: string): boolean {
  return /^\$(1|5|6|y|2[aby])\$/.test(v);
}
