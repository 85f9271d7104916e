/**
 * Random and mutated tar archives for the vetter-against-GNU-tar fuzz test: every header
 * dialect a bundle could use to make two readers disagree (ustar prefix with each magic and
 * version, GNU 'L'/'K' long names, pax path/linkpath/size, GNU.sparse.* keywords, global pax
 * headers, duplicate names, hard links, symlinks, '..', absolute names, trailing slashes,
 * unknown type flags). Deterministic: the same seed gives the same archives.
 */
export function rng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const BLOCK = 512;

interface RawHeader {
  name: string;
  flag: string;
  size: number;
  link?: string;
  prefix?: string;
  /** bytes 257..265: magic (6) + version (2) */
  magic: "ustar\u000000" | "ustar\u0000  " | "ustar  \u0000" | "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000";
  mode?: number;
}

function header(h: RawHeader): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const put = (off: number, s: string, max: number) => b.set(Buffer.from(s, "latin1").subarray(0, max), off);
  const oct = (off: number, len: number, v: number) => put(off, `${v.toString(8).padStart(len - 1, "0")}\0`, len);
  put(0, h.name, 100);
  oct(100, 8, h.mode ?? 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, h.size);
  oct(136, 12, 1_700_000_000);
  put(156, h.flag, 1);
  if (h.link) put(157, h.link, 100);
  put(257, h.magic, 8);
  if (h.flag === "3" || h.flag === "4") {
    oct(329, 8, 1);
    oct(337, 8, 3);
  }
  if (h.prefix) put(345, h.prefix, 155);
  b.fill(32, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `, 8);
  return b;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
  out.set(data);
  return out;
}

function paxBody(records: [string, string][]): Uint8Array {
  let s = "";
  for (const [k, v] of records) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    s += `${len}${body}`;
  }
  return Buffer.from(s, "latin1");
}

const SEGMENTS = ["img", "extra", "imagetree", "kernel", "a", "b", "lnk", "x", "etc", "passwd", "GNUSparseFile.0", "PaxHeaders", "..", ".", ""];

function randomName(r: Rand): string {
  const depth = 1 + Math.floor(r() * 3);
  const parts: string[] = ["img"];
  for (let i = 0; i < depth; i++) parts.push(r() < 0.95 ? pick(r, SEGMENTS.slice(0, 12)) : pick(r, SEGMENTS));
  if (r() < 0.05) parts.shift();
  let n = parts.join("/");
  const lead = r();
  if (lead < 0.4) n = `./${n}`;
  else if (lead < 0.43) n = `/${n}`;
  if (r() < 0.05) n += "/";
  return n;
}

function longName(r: Rand): string {
  // past 100 bytes, so it needs a prefix, an 'L' record or a pax path
  const parts = ["img", "extra"];
  while (parts.join("/").length < 110 + Math.floor(r() * 60)) parts.push(`d${Math.floor(r() * 1000)}`.padEnd(12, "x"));
  return parts.join("/");
}

/** One member in a random dialect. `names` are earlier member names (for duplicates and hard links). */
function member(r: Rand, names: string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const type = pick(r, ["0", "0", "0", "0", "5", "5", "2", "2", "2", "1", "\0", "3", "6", "Z"] as const);
  let name = r() < 0.08 && names.length ? pick(r, names) : r() < 0.2 ? longName(r) : randomName(r);
  if (type === "5" && !name.endsWith("/") && r() < 0.5) name += "/";
  names.push(name);
  const data = type === "0" || type === "\0" ? Buffer.from("x".repeat(Math.floor(r() * 700))) : new Uint8Array(0);
  let link = type === "2" ? pick(r, ["../x", "/etc", "kernel", "a/b", "../../..", "."]) : type === "1" ? (names.length ? pick(r, names) : "a") : undefined;
  const magic = pick(r, ["ustar\u000000", "ustar\u000000", "ustar\u0000  ", "ustar  \u0000", "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"] as const);
  let headerName = name;
  let prefix: string | undefined;
  const dialect = r();
  if (dialect < 0.25 && name.length > 1) {
    // split at a '/' into prefix + name (as ustar would), whatever the magic says
    const cut = name.lastIndexOf("/", Math.min(name.length - 2, 154));
    if (cut > 0) {
      prefix = name.slice(0, cut);
      headerName = name.slice(cut + 1);
    }
  } else if (dialect < 0.45) {
    const body = Buffer.from(`${name}\0`, "latin1");
    parts.push(header({ name: "././@LongLink", flag: "L", size: body.length, magic: "ustar  \u0000" }), padded(body));
    headerName = pick(r, [name.slice(0, 100), "decoy/kernel", "img/kernel"]);
  } else if (dialect < 0.75) {
    const recs: [string, string][] = [["path", name]];
    if (link && r() < 0.5) {
      recs.push(["linkpath", link]);
      link = pick(r, [link, "decoy"]);
    }
    if (r() < 0.15)
      recs.push([
        pick(r, ["GNU.sparse.name", "GNU.sparse.major", "GNU.sparse.size", "GNU.dumpdir", "SCHILY.xattr.user.x", "comment"]),
        pick(r, ["img/kernel", "1", "x"]),
      ]);
    const body = paxBody(recs);
    parts.push(header({ name: "PaxHeaders/x", flag: "x", size: body.length, magic: "ustar\u000000" }), padded(body));
    if (r() < 0.1)
      parts.push(header({ name: "PaxHeaders/y", flag: "x", size: body.length, magic: "ustar\u000000" }), padded(paxBody([["path", "img/kernel"]])));
    headerName = pick(r, ["decoy/kernel", name.slice(0, 100), "img/extra/lnk"]);
  } else if (dialect < 0.78) {
    const body = paxBody([["GNU.sparse.name", pick(r, ["img/kernel", name])]]);
    parts.push(header({ name: "PaxHeaders/s", flag: "x", size: body.length, magic: "ustar\u000000" }), padded(body));
  } else if (dialect < 0.8) {
    const body = paxBody([[pick(r, ["path", "comment", "size"]), pick(r, ["img/kernel", "hi", "3"])]]);
    parts.push(header({ name: "GlobalHead", flag: "g", size: body.length, magic: "ustar\u000000" }), padded(body));
  }
  parts.push(header({ name: headerName, flag: type, size: data.length, link, prefix, magic, mode: type === "5" ? 0o755 : 0o644 }), padded(data));
  return Buffer.concat(parts);
}

/** A whole archive: a plausible bundle skeleton, then random members, then the end marker. */
export function fuzzArchive(r: Rand): Uint8Array {
  const names: string[] = [];
  const parts: Uint8Array[] = [
    header({ name: "./", flag: "5", size: 0, magic: "ustar  \u0000", mode: 0o755 }),
    header({ name: "./img/", flag: "5", size: 0, magic: "ustar  \u0000", mode: 0o755 }),
  ];
  names.push("./", "./img/");
  const n = 1 + Math.floor(r() * 5);
  for (let i = 0; i < n; i++) parts.push(member(r, names));
  parts.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(parts);
}
