import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { fsError, IOFailure } from "../errors";

/**
 * A deterministic digest of a root tree: one line per entry, in byte order of the path,
 *   <path> <type> <mode> <uid> <gid> <size> <content digest | -> <link target | rdev | -> [<xattrs sha256>]
 * and the SHA-256 of all lines. The last field is there only for entries with extended
 * attributes (file capabilities, ACLs, SELinux labels), read with one `getfattr -R` over the
 * tree (Node has no getxattr); without getfattr the digest says it does not cover them. It covers what a node gets from the image (owners, setuid
 * bits, device numbers, link targets, contents) and leaves out what changes with every copy
 * (mtime, inode numbers, hard-link counts), so the same tree captured, unpacked or imported
 * elsewhere digests the same. Paths are JSON strings of the raw bytes read as latin1, so any
 * name (newlines, invalid UTF-8) has exactly one spelling.
 */
export interface TreeDigest {
  sha256: string;
  /** Whether extended attributes are part of the digest (getfattr was available). */
  xattrs: boolean;
  entries: number;
  /** Sum of the sizes of regular files. */
  bytes: number;
}

const CHUNK = 1 << 20;
const ZERO = Buffer.alloc(CHUNK);
const ZERO_CHUNK_SHA256 = createHash("sha256").update(ZERO).digest();

function fileSha256(path: string | Buffer, buf: Buffer): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/**
 * A tree entry's content digest: SHA-256 over the SHA-256 of each 1 MiB chunk (the last one
 * shorter). Chunks of zeros — the holes of sparse files, a VM disk or a swap file in a golden
 * node's tree — are recognised with a compare and take a precomputed hash, so a 5 GB sparse
 * file costs a read of its holes, not 5 GB of hashing.
 */
function contentDigest(path: string | Buffer, buf: Buffer): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    for (;;) {
      let n = 0;
      // fill whole chunks so chunk boundaries do not depend on how reads return
      while (n < CHUNK) {
        const r = readSync(fd, buf, n, CHUNK - n, null);
        if (r === 0) break;
        n += r;
      }
      if (n === 0) break;
      if (n === CHUNK && buf.equals(ZERO)) h.update(ZERO_CHUNK_SHA256);
      else h.update(createHash("sha256").update(buf.subarray(0, n)).digest());
      if (n < CHUNK) break;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

function typeOf(st: import("node:fs").Stats | import("node:fs").BigIntStats): string {
  if (st.isDirectory()) return "d";
  if (st.isFile()) return "f";
  if (st.isSymbolicLink()) return "l";
  if (st.isCharacterDevice()) return "c";
  if (st.isBlockDevice()) return "b";
  if (st.isFIFO()) return "p";
  return "s";
}

/** Compare raw names byte-wise (latin1 strings: one char per byte), not by locale. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function getfattrAvailable(): boolean {
  return Bun.which("getfattr") !== null;
}

/** path (raw bytes as latin1) → SHA-256 of its sorted `name=0xhex` attribute lines. */
export function treeXattrs(root: string): Map<string, string> {
  const p = Bun.spawnSync(["getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "."], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new IOFailure(`getfattr -R ${root} failed: ${p.stderr.toString().trim()}`);
  const out = new Map<string, string>();
  // getfattr writes names as raw bytes with \ooo escapes for backslash and control characters
  for (const block of p.stdout.toString("latin1").split("\n\n")) {
    const lines = block.split("\n").filter((l) => l);
    const head = lines.shift();
    if (!head?.startsWith("# file: ")) continue;
    const path = head.slice(8).replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    out.set(path, createHash("sha256").update(lines.sort().join("\n"), "latin1").digest("hex"));
  }
  return out;
}

/**
 * Content digests of unchanged files, so a re-capture or a pack does not hash the whole tree
 * again: a file whose inode, size, mtime and ctime (nanoseconds) are those recorded keeps its
 * digest. ctime cannot be set from user space, so a file rewritten in place misses the cache.
 * `image verify` never uses it: a check must read everything.
 */
export interface DigestCache {
  get(rel: string, key: string): string | undefined;
  put(rel: string, key: string, digest: string): void;
}

function cacheKey(st: import("node:fs").BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * ctimes come from the kernel's coarse clock (one tick, up to 10 ms, behind): a file written
 * again within the tick its key was read in could keep the same key ("racy git",
 * git's Documentation/technical/racy-git.txt). Files changed this recently before the walk
 * are hashed but not cached, so a cached key is always older than any later write.
 */
const RACY_NS = 50_000_000n;

export interface DigestOptions {
  skip?: (rel: string) => boolean;
  onLine?: (rel: string, line: string) => void;
  xattrs?: boolean;
  cache?: DigestCache;
  /**
   * Report every entry (and the tree's top, as ".") whose ctime is after this time (ns): what
   * changed on this machine after a capture, for a digest computed later (pending.ts).
   */
  changedAfter?: { ns: bigint; found: (rel: string) => void };
}

/** `onLine` receives every line (tests and `image verify` use it to say what differs). */
export function digestTree(root: string, opts: DigestOptions = {}): TreeDigest {
  const racyAfter = BigInt(Date.now()) * 1_000_000n - RACY_NS;
  const after = opts.changedAfter;
  if (after && lstatSync(root, { bigint: true }).ctimeNs > after.ns) after.found(".");
  const withXattrs = opts.xattrs ?? getfattrAvailable();
  const xattrs = withXattrs ? treeXattrs(root) : new Map<string, string>();
  const total = createHash("sha256");
  const buf = Buffer.allocUnsafe(CHUNK);
  let entries = 0;
  let bytes = 0;
  const rootBuf = Buffer.from(root);
  const walk = (rel: Buffer | null) => {
    const dirPath = rel === null ? rootBuf : Buffer.concat([rootBuf, Buffer.from("/"), rel]);
    let names: Buffer[];
    try {
      names = readdirSync(dirPath, { encoding: "buffer" });
    } catch (e) {
      throw fsError(e, `cannot read ${dirPath.toString()}`);
    }
    const sorted = names.map((n) => n.toString("latin1")).sort(byBytes);
    for (const name of sorted) {
      const relBuf = rel === null ? Buffer.from(name, "latin1") : Buffer.concat([rel, Buffer.from("/"), Buffer.from(name, "latin1")]);
      const relName = relBuf.toString("latin1");
      if (opts.skip?.(relName)) continue;
      const full = Buffer.concat([rootBuf, Buffer.from("/"), relBuf]);
      const st = lstatSync(full, { bigint: true });
      const type = typeOf(st);
      if (after && st.ctimeNs > after.ns) after.found(relName);
      let content = "-";
      let extra = "-";
      let size = 0;
      if (type === "f") {
        size = Number(st.size);
        bytes += size;
        if (opts.cache) {
          const key = cacheKey(st);
          const hit = opts.cache.get(relName, key);
          content = hit ?? contentDigest(full, buf);
          if (!hit && st.ctimeNs < racyAfter) opts.cache.put(relName, key, content);
        } else content = contentDigest(full, buf);
      } else if (type === "l") {
        extra = JSON.stringify(readlinkSync(full, { encoding: "buffer" }).toString("latin1"));
      } else if (type === "c" || type === "b") {
        extra = String(st.rdev);
      }
      const attrs = xattrs.get(relName);
      const line = `${JSON.stringify(relName)} ${type} ${(Number(st.mode) & 0o7777).toString(8)} ${st.uid} ${st.gid} ${size} ${content} ${extra}${attrs ? ` ${attrs}` : ""}\n`;
      total.update(line, "latin1");
      opts.onLine?.(relName, line);
      entries++;
      if (type === "d") walk(relBuf);
    }
  };
  walk(null);
  // the tree's own directory: its attributes become those of the node's /
  const top = xattrs.get(".");
  if (top) total.update(`. ${top}\n`, "latin1");
  return { sha256: total.digest("hex"), xattrs: withXattrs, entries, bytes };
}

/** The digest of one regular file and its size. */
export function digestFile(path: string): { sha256: string; size: number } {
  const st = lstatSync(path);
  return { sha256: fileSha256(path, Buffer.allocUnsafe(CHUNK)), size: st.size };
}
