/**
 * The cpio "newc" format (070701), as the kernel's initramfs unpacker and GNU cpio read it:
 * a 110-byte ASCII header of 13 hex u32 fields, the NUL-terminated name padded to 4 bytes
 * (header included), the data padded to 4 bytes, and a `TRAILER!!!` entry at the end.
 * No npm package writes it correctly (bun.md §2), so this is ours.
 */
export const NEWC_MAGIC = "070701";
export const TRAILER = "TRAILER!!!";
/** newc stores the file size in 8 hex digits. */
export const NEWC_MAX_SIZE = 0xffffffff;

export interface CpioHeader {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
}

const HEX = "0123456789ABCDEF";

function putHex(buf: Buffer, off: number, value: number): void {
  let v = value >>> 0;
  for (let i = 7; i >= 0; i--) {
    buf[off + i] = HEX.charCodeAt(v & 15);
    v >>>= 4;
  }
}

export const pad4 = (n: number) => (4 - (n & 3)) & 3;

/** Bytes an entry occupies before its data: header + name + NUL, padded to 4. */
export function headerLength(nameLength: number): number {
  const n = 110 + nameLength + 1;
  return n + pad4(n);
}

/** Header and name of one entry, padded so the data starts 4-aligned. */
export function encodeHeader(h: CpioHeader, name: Uint8Array): Buffer {
  const buf = Buffer.alloc(headerLength(name.length)); // zero-filled: the NUL and padding
  buf.write(NEWC_MAGIC, 0, "latin1");
  const fields = [h.ino, h.mode, h.uid, h.gid, h.nlink, h.mtime, h.size, 0, 0, h.rdevMajor, h.rdevMinor, name.length + 1, 0];
  for (let i = 0; i < fields.length; i++) putHex(buf, 6 + i * 8, fields[i] as number);
  buf.set(name, 110);
  return buf;
}

/** The closing entry. */
export function trailer(): Buffer {
  return encodeHeader({ ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0 }, Buffer.from(TRAILER, "latin1"));
}

/** Clamp a time to the u32 newc can hold (before 1970 → 0, after 2106 → max). */
export function newcTime(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) return 0;
  return Math.min(Math.floor(seconds), 0xffffffff);
}

/** A file for a small archive built in memory (the boot initrd, a node's overlay). */
export interface MemoryEntry {
  name: string;
  /** Full st_mode, type bits included (e.g. 0o100644, 0o040755, 0o020600). */
  mode: number;
  uid?: number;
  gid?: number;
  data?: string | Uint8Array;
  rdevMajor?: number;
  rdevMinor?: number;
}

/**
 * A complete newc archive of `entries`, in the order given. Sized first and written into one
 * buffer that is not zero-filled first (every byte is written: headers, names, data, and the
 * NULs and padding explicitly), strings encoded straight into it rather than through a Buffer
 * of their own: `xcimg boot` builds one per node, 10,000 per run (docs/bench/boot.md).
 */
export function memoryCpio(entries: readonly MemoryEntry[], mtime: number): Buffer {
  const n = entries.length;
  const lens = new Array<number>(2 * n);
  let total = headerLength(TRAILER.length);
  for (let i = 0; i < n; i++) {
    const e = entries[i] as MemoryEntry;
    const d = e.data;
    const nameLen = Buffer.byteLength(e.name);
    const dataLen = d === undefined ? 0 : typeof d === "string" ? Buffer.byteLength(d) : d.length;
    lens[2 * i] = nameLen;
    lens[2 * i + 1] = dataLen;
    total += headerLength(nameLen) + dataLen + pad4(dataLen);
  }
  const out = Buffer.allocUnsafe(total);
  const t = newcTime(mtime);
  let off = 0;
  const put = (name: string, nameLen: number, ino: number, mode: number, uid: number, gid: number, mt: number, size: number, major: number, minor: number) => {
    out.write(NEWC_MAGIC, off, "latin1");
    putHex(out, off + 6, ino);
    putHex(out, off + 14, mode);
    putHex(out, off + 22, uid);
    putHex(out, off + 30, gid);
    putHex(out, off + 38, (mode & 0o170000) === 0o040000 ? 2 : 1); // nlink
    putHex(out, off + 46, mt);
    putHex(out, off + 54, size);
    out.write(ZERO_HEX_2, off + 62, "latin1"); // devmajor, devminor
    putHex(out, off + 78, major);
    putHex(out, off + 86, minor);
    putHex(out, off + 94, nameLen + 1);
    out.write(ZERO_HEX_1, off + 102, "latin1"); // check
    out.write(name, off + 110, "utf8");
    const end = off + headerLength(nameLen);
    out.fill(0, off + 110 + nameLen, end); // the name's NUL and padding
    off = end;
  };
  for (let i = 0; i < n; i++) {
    const e = entries[i] as MemoryEntry;
    const d = e.data;
    const size = lens[2 * i + 1] as number;
    put(e.name, lens[2 * i] as number, i + 1, e.mode, e.uid ?? 0, e.gid ?? 0, t, size, e.rdevMajor ?? 0, e.rdevMinor ?? 0);
    if (typeof d === "string") out.write(d, off, "utf8");
    else if (d) out.set(d, off);
    off += size;
    const p = pad4(size);
    if (p) out.fill(0, off, off + p);
    off += p;
  }
  put(TRAILER, TRAILER.length, 0, 0, 0, 0, 0, 0, 0, 0);
  return out;
}

const ZERO_HEX_1 = "00000000";
const ZERO_HEX_2 = "0000000000000000";

/**
 * A newc stream whose first entry gets another mode (type bits kept), owner and group: for
 * archives made by GNU cpio of a whole tree (`find rootimg | cpio -o`, export's rootimgtree.gz),
 * whose first entry is the tree's top. Feed it the stream's chunks in order.
 */
export class FirstNewcEntryPatch {
  private held: Buffer | null = Buffer.alloc(0);
  constructor(private readonly top: { mode: number; uid: number; gid: number }) {}

  /** The bytes to pass on for `chunk` (possibly none yet, while the first header is incomplete). */
  push(chunk: Uint8Array): Buffer {
    if (this.held === null) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const buf = Buffer.concat([this.held, chunk]);
    if (buf.length < 38) {
      this.held = buf;
      return Buffer.alloc(0);
    }
    this.held = null;
    if (buf.toString("latin1", 0, 6) !== NEWC_MAGIC) return buf; // not newc: leave it alone
    const mode = Number.parseInt(buf.toString("latin1", 14, 22), 16);
    putHex(buf, 14, ((mode & ~0o7777) | (this.top.mode & 0o7777)) >>> 0);
    putHex(buf, 22, this.top.uid);
    putHex(buf, 30, this.top.gid);
    return buf;
  }

  /** What is still held at the end of the stream (a stream shorter than one header). */
  end(): Buffer {
    const rest = this.held ?? Buffer.alloc(0);
    this.held = null;
    return rest;
  }
}
