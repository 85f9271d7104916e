import { createHash } from "node:crypto";
import { DataError } from "../errors";

/**
 * A streaming reader of tar headers (ustar, GNU and pax, as GNU tar writes them) and a writer
 * of the one member xcimg appends itself. Ours rather than node-tar's because we need the raw
 * name bytes (names are carried as latin1 strings, one char per byte, so nothing is mangled),
 * hard limits on metadata a hostile archive controls, and every byte of the archive handed
 * back in order: export forwards GNU tar's output through this parser to hash members on
 * the fly and cut off the end-of-archive blocks, import vets a bundle before extracting it.
 */
export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarEntry {
  /** Member name, raw bytes as latin1. */
  name: string;
  type: EntryType;
  size: number;
  /** Target of a symlink or hardlink (raw bytes as latin1). */
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** The member carries extended attributes, ACLs or an SELinux label (pax SCHILY.* / RHT.*). */
  attrs?: boolean;
  /** SHA-256 of those attributes (sorted `key=value` records), for a signed statement of the bundle. */
  attrsSha256?: string;
  /** Device numbers of a char or block device member. */
  dev?: [number, number];
}

export interface TarHandlers {
  /** A member starts; its data follows through `data`. */
  entry(e: TarEntry): void;
  /** Content bytes of the current regular-file member. */
  data(chunk: Uint8Array): void;
  /** Every other archive byte (headers, metadata records, padding), up to the end marker. */
  raw?(chunk: Uint8Array): void;
}

const BLOCK = 512;
/** pax records and GNU long names a hostile archive could make arbitrarily large. */
const MAX_META = 1 << 20;
const TYPES: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** A latin1 (raw-bytes) name for messages: UTF-8 shown as such, other bytes escaped. */
export function printableName(name: string): string {
  const s = Buffer.from(name, "latin1").toString("utf8");
  return JSON.stringify(s).slice(1, -1);
}

function cstring(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString("latin1");
}

function number(b: Uint8Array, off: number, len: number, field: string): number {
  const first = b[off] as number;
  if (first & 0x80) {
    // GNU base-256 for values that do not fit in octal
    if (first !== 0x80) throw new DataError(`tar header: negative or oversized ${field}`);
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (b[i] as number);
    if (!Number.isSafeInteger(v)) throw new DataError(`tar header: ${field} too large`);
    return v;
  }
  const s = cstring(b, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new DataError(`tar header: ${field} '${s}' is not an octal number`);
  return Number.parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  let stored: number;
  try {
    stored = number(h, 148, 8, "checksum");
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 32 : (h[i] as number);
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

/**
 * pax keywords a bundle may use: what GNU tar writes for --format=posix --xattrs --acls. Every
 * other keyword is refused, because GNU tar honours some the vetter would not (GNU.sparse.name
 * renames a member, GNU.sparse.* and GNU.dumpdir change what is written), and a member that
 * GNU tar names differently from the vetter is the "two parsers" attack.
 */
const PAX_KEYS = new Set(["path", "linkpath", "size", "mtime", "atime", "ctime", "uid", "gid", "uname", "gname", "comment", "charset", "hdrcharset"]);
const PAX_ATTR_PREFIXES = ["SCHILY.xattr.", "SCHILY.acl.", "RHT.security.selinux", "SCHILY.dev", "SCHILY.ino", "SCHILY.nlink"];
/** Keywords of a global ('g') header: GNU tar applies a global path or size to every later member. */
const PAX_GLOBAL_KEYS = new Set(["comment", "charset", "hdrcharset"]);

function checkPaxKey(key: string, global: boolean): void {
  const shown = printableName(key);
  if (global) {
    if (!PAX_GLOBAL_KEYS.has(key)) throw new DataError(`tar: global pax header keyword '${shown}' is not allowed in a bundle`);
    return;
  }
  if (PAX_KEYS.has(key) || PAX_ATTR_PREFIXES.some((p) => key.startsWith(p))) return;
  throw new DataError(`tar: pax header keyword '${shown}' is not allowed in a bundle`, {
    hint: "GNU tar could read such a member differently from the check (GNU sparse files, renamed members)",
  });
}

function isAttrKey(key: string): boolean {
  return key.startsWith("SCHILY.xattr.") || key.startsWith("SCHILY.acl.") || key.startsWith("RHT.security.selinux");
}

function parsePax(body: Uint8Array, global: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  while (pos < text.length) {
    if (text[pos] === 0) break;
    const sp = text.indexOf(0x20, pos);
    if (sp < 0) throw new DataError("tar: malformed pax header record");
    const len = Number.parseInt(text.subarray(pos, sp).toString("latin1"), 10);
    if (!Number.isInteger(len) || len <= sp - pos || pos + len > text.length) throw new DataError("tar: malformed pax header record length");
    const rec = text.subarray(sp + 1, pos + len - 1); // without the trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new DataError("tar: malformed pax header record");
    const key = rec.subarray(0, eq).toString("latin1");
    checkPaxKey(key, global);
    if (out.has(key)) throw new DataError(`tar: pax keyword '${printableName(key)}' appears twice in one header`);
    // pax values are UTF-8; re-encode as latin1 so names compare with ustar names byte for byte
    out.set(key, rec.subarray(eq + 1).toString("latin1"));
    pos += len;
  }
  return out;
}

type State = "header" | "data" | "pad" | "meta" | "end";

/** Feed archive bytes with push(); call finish() at the end of input. */
export class TarParser {
  private state: State = "header";
  private hdr = new Uint8Array(BLOCK);
  private hdrFill = 0;
  private remaining = 0;
  private padding = 0;
  private meta: { kind: string; buf: Uint8Array; fill: number } | null = null;
  private pax = new Map<string, string>();
  /** Metadata headers ('x', 'L', 'K') seen since the last member: each at most once. */
  private metaSeen = new Set<string>();
  private longName: string | null = null;
  private longLink: string | null = null;
  /** Archive bytes before the end marker. */
  bytes = 0;
  entries = 0;

  constructor(private readonly h: TarHandlers) {}

  get ended(): boolean {
    return this.state === "end";
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length && this.state !== "end") {
      switch (this.state) {
        case "header": {
          const n = Math.min(BLOCK - this.hdrFill, chunk.length - off);
          this.hdr.set(chunk.subarray(off, off + n), this.hdrFill);
          this.hdrFill += n;
          off += n;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.header();
          }
          break;
        }
        case "data": {
          const n = Math.min(this.remaining, chunk.length - off);
          const part = chunk.subarray(off, off + n);
          this.h.data(part);
          this.bytes += n;
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) this.state = this.padding ? "pad" : "header";
          break;
        }
        case "meta": {
          const m = this.meta as { kind: string; buf: Uint8Array; fill: number };
          const n = Math.min(this.remaining, chunk.length - off);
          m.buf.set(chunk.subarray(off, off + n), m.fill);
          m.fill += n;
          this.h.raw?.(chunk.subarray(off, off + n));
          this.bytes += n;
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) {
            this.metaDone(m);
            this.state = this.padding ? "pad" : "header";
          }
          break;
        }
        case "pad": {
          const n = Math.min(this.padding, chunk.length - off);
          this.h.raw?.(chunk.subarray(off, off + n));
          this.bytes += n;
          this.padding -= n;
          off += n;
          if (this.padding === 0) this.state = "header";
          break;
        }
      }
    }
  }

  /** The input ended: it must have ended with the end-of-archive marker. */
  finish(): void {
    if (this.state !== "end") throw new DataError("the archive is truncated (no end-of-archive marker)");
  }

  private header(): void {
    const h = this.hdr;
    if (h.every((b) => b === 0)) {
      if (this.meta || this.metaSeen.size) throw new DataError("tar: metadata header without a member");
      this.state = "end";
      return;
    }
    if (!checksumOk(h)) throw new DataError(`tar: header checksum mismatch at byte ${this.bytes} (corrupt or not a tar archive)`);
    const copy = h.slice();
    this.h.raw?.(copy);
    this.bytes += BLOCK;
    const flag = String.fromCharCode(h[156] as number);
    const size = number(h, 124, 12, "size");
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      // GNU tar never writes two of one kind for a member; which of them wins differs between readers
      if (flag !== "g" && this.metaSeen.has(flag)) throw new DataError(`tar: two '${flag}' headers for one member`);
      if (flag !== "g") this.metaSeen.add(flag);
      if (size > MAX_META)
        throw new DataError(`tar: a ${flag === "L" || flag === "K" ? "long name" : "pax"} header of ${size} bytes is larger than ${MAX_META}`);
      this.meta = { kind: flag, buf: new Uint8Array(size), fill: 0 };
      this.remaining = size;
      this.padding = pad;
      this.state = size ? "meta" : pad ? "pad" : "header";
      if (size === 0) this.metaDone(this.meta);
      return;
    }
    const type = TYPES[flag];
    if (!type) {
      const what =
        flag === "S" ? "a GNU sparse file" : flag === "V" ? "a volume label" : flag === "M" ? "a multi-volume continuation" : `member type '${flag}'`;
      throw new DataError(`tar: ${what} is not allowed in a bundle`);
    }
    const magic = cstring(h, 257, 6);
    let name = cstring(h, 0, 100);
    // GNU tar's rule (list.c read_header): the prefix counts when the magic is "ustar\0",
    // whatever the version field holds; a GNU header ("ustar  \0") uses those bytes otherwise
    if (magic === "ustar" && h[262] === 0 && h[345] !== 0) {
      const prefix = cstring(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    let linkname = cstring(h, 157, 100);
    let entrySize = size;
    if (this.longName !== null) name = this.longName;
    if (this.longLink !== null) linkname = this.longLink;
    const paxPath = this.pax.get("path");
    if (paxPath !== undefined) name = paxPath;
    const paxLink = this.pax.get("linkpath");
    if (paxLink !== undefined) linkname = paxLink;
    const paxSize = this.pax.get("size");
    if (paxSize !== undefined) {
      if (!/^[0-9]+$/.test(paxSize)) throw new DataError("tar: malformed pax size");
      entrySize = Number(paxSize);
    }
    const attrKeys = [...this.pax.keys()].filter(isAttrKey).sort();
    const attrs = attrKeys.length > 0;
    const attrsSha256 = attrs
      ? createHash("sha256")
          .update(attrKeys.map((k) => `${k}=${this.pax.get(k)}\n`).join(""), "latin1")
          .digest("hex")
      : undefined;
    this.longName = this.longLink = null;
    this.pax = new Map();
    this.metaSeen.clear();
    if (type !== "file" && entrySize !== 0) throw new DataError(`tar: ${type} member '${printableName(name)}' carries data`);
    const dataSize = type === "file" ? entrySize : 0;
    const entry: TarEntry = {
      name,
      type,
      size: dataSize,
      linkname,
      mode: number(h, 100, 8, "mode"),
      uid: number(h, 108, 8, "uid"),
      gid: number(h, 116, 8, "gid"),
      mtime: number(h, 136, 12, "mtime"),
      attrs,
    };
    if (attrsSha256) entry.attrsSha256 = attrsSha256;
    if (type === "char" || type === "block") entry.dev = [number(h, 329, 8, "devmajor"), number(h, 337, 8, "devminor")];
    this.entries++;
    this.h.entry(entry);
    this.remaining = dataSize;
    this.padding = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    this.state = dataSize ? "data" : this.padding ? "pad" : "header";
  }

  private metaDone(m: { kind: string; buf: Uint8Array }): void {
    this.meta = null;
    if (m.kind === "x") this.pax = parsePax(m.buf, false);
    else if (m.kind === "g")
      parsePax(m.buf, true); // checked only: it may carry nothing that names or sizes a member
    else if (m.kind === "L") this.longName = cstring(m.buf, 0, m.buf.length);
    else if (m.kind === "K") this.longLink = cstring(m.buf, 0, m.buf.length);
  }
}

function octal(buf: Uint8Array, off: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, "0");
  if (s.length > len - 1) throw new Error(`internal: ${value} does not fit a ${len}-byte tar field`);
  buf.set(Buffer.from(s, "latin1"), off);
}

function rawHeader(name: string, size: number, flag: string, mode: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(Buffer.from(name, "latin1").subarray(0, 100), 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h[156] = flag.charCodeAt(0);
  h.set(Buffer.from("ustar  \0", "latin1"), 257); // GNU format, as `tar czf` writes
  h.set(Buffer.from("root", "latin1"), 265);
  h.set(Buffer.from("root", "latin1"), 297);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `, "latin1"), 148);
  return h;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
  out.set(data);
  return out;
}

/** A regular-file member owned by root, GNU format (with a ././@LongLink entry for long names). */
export function tarFileMember(name: string, content: Uint8Array, mtime: number, mode = 0o644): Uint8Array {
  const parts: Uint8Array[] = [];
  const nameBytes = Buffer.from(name, "latin1");
  if (nameBytes.length > 100) {
    const long = Buffer.concat([nameBytes, Buffer.from([0])]);
    parts.push(rawHeader("././@LongLink", long.length, "L", 0o644, 0), padded(long));
  }
  parts.push(rawHeader(name, content.length, "0", mode, mtime), padded(content));
  return Buffer.concat(parts);
}

/** The end of an archive as GNU tar writes it: two zero blocks, then zeros up to a 10 KiB record. */
export function tarEnd(bytesSoFar: number): Uint8Array {
  const RECORD = 20 * BLOCK;
  const withEof = bytesSoFar + 2 * BLOCK;
  return new Uint8Array(2 * BLOCK + ((RECORD - (withEof % RECORD)) % RECORD));
}
