import { closeSync, openSync, readlinkSync, readSync } from "node:fs";
import { encodeHeader, headerLength, NEWC_MAX_SIZE, newcTime, pad4, trailer } from "../archive/cpio";
import { DataError, fsError, InterruptedError, IOFailure } from "../errors";
import type { ArchiveSink } from "./compress";
import { absPath, type TreeEntry } from "./walk";

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** Files up to this size are read straight into the entry's buffer; larger ones in chunks. */
const WHOLE_FILE = 1 << 20;
const CHUNK = 8 << 20;

/**
 * The buffers every entry is read into, reused from one to the next: the sink copies what it
 * keeps (compress.ts), and a fresh buffer per file was garbage that grew pack's memory.
 */
class ReadBuffers {
  private entry = Buffer.alloc(WHOLE_FILE + 8192);
  private chunk: Buffer | null = null;

  /** `n` bytes for a whole entry (header, data, padding); contents are stale. */
  forEntry(n: number): Buffer {
    if (n > this.entry.length) this.entry = Buffer.alloc(n);
    return this.entry.subarray(0, n);
  }

  /** `n` bytes (≤ CHUNK + 3) of a big file; contents are stale. */
  forChunk(n: number): Buffer {
    this.chunk ??= Buffer.alloc(CHUNK + 4);
    return this.chunk.subarray(0, n);
  }
}

/** Files newc cannot carry (size field is 32 bits). */
export function tooBigForCpio(entries: readonly TreeEntry[]): TreeEntry[] {
  return entries.filter((e) => (e.mode & S_IFMT) === S_IFREG && e.size > NEWC_MAX_SIZE);
}

export function assertFitsCpio(entries: readonly TreeEntry[]): void {
  const big = tooBigForCpio(entries);
  if (big.length === 0) return;
  const names = big.slice(0, 5).map((e) => `/${e.rel.toString()} (${(e.size / 2 ** 30).toFixed(1)} GiB)`);
  throw new DataError(`cpio cannot hold files over 4 GiB: ${names.join(", ")}${big.length > 5 ? ` and ${big.length - 5} more` : ""}`, {
    hint: "pack with '-m tar' (boots two-stage), or leave these files out with an exlist entry",
  });
}

/**
 * Write `entries` (from walkTree) as one newc archive into `sink`, marking a boundary after
 * every entry so the sink can cut members there. Inode numbers are the walk's renumbered
 * ones, device numbers are 0, and a hardlinked file's data goes with its first link — what
 * the kernel's unpacker expects (it links later names to the first one it saw).
 */
export async function writeCpio(root: string, entries: readonly TreeEntry[], sink: ArchiveSink, signal?: AbortSignal): Promise<number> {
  const rootBuf = Buffer.from(root);
  const bufs = new ReadBuffers();
  let total = 0;
  for (const e of entries) {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new InterruptedError("interrupted");
    const type = e.mode & S_IFMT;
    const abs = absPath(rootBuf, e.rel);
    let size = 0;
    let link: Buffer | null = null;
    if (type === S_IFLNK) {
      try {
        link = readlinkSync(abs, { encoding: "buffer" }) as Buffer;
      } catch (e2) {
        throw fsError(e2, `cannot read symlink /${e.rel.toString()}`);
      }
      size = link.length;
    } else if (type === S_IFREG && e.carriesData) size = e.size;
    const header = {
      ino: e.ino,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      nlink: e.nlink,
      mtime: newcTime(e.mtime),
      size,
      rdevMajor: major(e.rdev),
      rdevMinor: minor(e.rdev),
    };
    const hlen = headerLength(e.rel.length);
    if (link || size <= WHOLE_FILE) {
      const buf = bufs.forEntry(hlen + size + pad4(size));
      encodeHeader(header, e.rel).copy(buf, 0);
      if (link) link.copy(buf, hlen);
      else if (size > 0) readExactly(abs, e, buf, hlen, size);
      buf.fill(0, hlen + size); // the padding (the buffer holds the previous entry)
      await sink.write(buf);
      total += buf.length;
    } else {
      await sink.write(encodeHeader(header, e.rel));
      total += hlen;
      total += await streamFile(abs, e, size, sink, bufs);
    }
    await sink.boundary();
  }
  const t = trailer();
  await sink.write(t);
  await sink.boundary();
  return total + t.length;
}

function readExactly(abs: Buffer, e: TreeEntry, buf: Buffer, off: number, size: number): void {
  let fd: number;
  try {
    fd = openSync(abs, "r");
  } catch (err) {
    throw fsError(err, `cannot read /${e.rel.toString()}`);
  }
  try {
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, off + got, size - got, got);
      if (n === 0) throw changed(e);
      got += n;
    }
  } finally {
    closeSync(fd);
  }
}

async function streamFile(abs: Buffer, e: TreeEntry, size: number, sink: ArchiveSink, bufs: ReadBuffers): Promise<number> {
  let fd: number;
  try {
    fd = openSync(abs, "r");
  } catch (err) {
    throw fsError(err, `cannot read /${e.rel.toString()}`);
  }
  try {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(CHUNK, size - pos);
      const last = pos + want === size;
      const buf = bufs.forChunk(want + (last ? pad4(size) : 0));
      buf.fill(0, want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, pos + got);
        if (n === 0) throw changed(e);
        got += n;
      }
      pos += want;
      await sink.write(buf);
    }
    return size + pad4(size);
  } finally {
    closeSync(fd);
  }
}

function changed(e: TreeEntry): IOFailure {
  return new IOFailure(`/${e.rel.toString()} shrank while it was being packed`, {
    hint: "nothing may write to the image tree during 'xcimg pack'; run it again",
  });
}

/** glibc's gnu_dev_major/minor for the 64-bit dev_t Linux uses. */
export function major(dev: number): number {
  return ((Math.floor(dev / 256) & 0xfff) | (Math.floor(dev / 2 ** 32) & 0xfffff000)) >>> 0;
}
export function minor(dev: number): number {
  return ((dev & 0xff) | (Math.floor(dev / 4096) & 0xffffff00)) >>> 0;
}
