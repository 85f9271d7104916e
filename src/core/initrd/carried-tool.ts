import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { basename } from "node:path";
import { ImageRoot, lstatOrNull } from "../image/image-root";
import { elfInfo } from "./busybox";

/**
 * A dynamically linked program carried into a first-stage initrd with its ELF interpreter and
 * the shared libraries it needs (DT_NEEDED, transitively): GNU tar, because busybox tar drops
 * xattrs and with them file capabilities (xCAT #922: non-root ping on the node), and zstd,
 * which busybox lacks. Taken from the image first (its own libraries match it), else from the
 * management node, for the image's architecture. The node runs it as
 * `<interp> --library-path <dir> <program>`, so nothing of it lands at the image's paths.
 */
export interface CarriedTool {
  /** The program's file name (e.g. "tar"), then its libraries' names, all in one directory. */
  program: string;
  /** The interpreter's file name, or null for a static program. */
  interp: string | null;
  files: { name: string; data: Buffer }[];
  from: "image" | "management node";
  path: string;
}

const TRIPLET: Record<number, string> = { 62: "x86_64-linux-gnu", 183: "aarch64-linux-gnu", 21: "powerpc64le-linux-gnu", 22: "s390x-linux-gnu" };

function libDirs(machine: number): string[] {
  const t = TRIPLET[machine];
  return ["/lib64", "/usr/lib64", ...(t ? [`/lib/${t}`, `/usr/lib/${t}`] : []), "/lib", "/usr/lib"];
}

interface DynInfo {
  interp: string | null;
  needed: string[];
}

/** PT_INTERP and the DT_NEEDED names of an ELF file (its strings mapped through PT_LOAD). */
export function dynInfo(file: string): DynInfo | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const h = Buffer.alloc(64);
    if (readSync(fd, h, 0, 64, 0) < 52 || h.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    const rd = (b: Buffer, o: number, size: 2 | 4 | 8) => {
      if (size === 2) return le ? b.readUInt16LE(o) : b.readUInt16BE(o);
      if (size === 4) return le ? b.readUInt32LE(o) : b.readUInt32BE(o);
      return Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    };
    const word = is64 ? 8 : 4;
    const phoff = rd(h, is64 ? 0x20 : 0x1c, word);
    const phentsize = rd(h, is64 ? 0x36 : 0x2a, 2);
    const phnum = rd(h, is64 ? 0x38 : 0x2c, 2);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    const read = (off: number, len: number) => {
      const b = Buffer.alloc(len);
      return b.subarray(0, readSync(fd, b, 0, len, off));
    };
    let interp: string | null = null;
    let dyn: { off: number; size: number } | null = null;
    const loads: { vaddr: number; off: number; size: number }[] = [];
    for (let i = 0; i < phnum; i++) {
      const p = i * phentsize;
      const type = rd(ph, p, 4);
      const off = rd(ph, p + (is64 ? 8 : 4), word);
      const vaddr = rd(ph, p + (is64 ? 16 : 8), word);
      const filesz = rd(ph, p + (is64 ? 32 : 16), word);
      if (type === 3) interp = read(off, filesz).toString("latin1").replace(/\0.*$/s, "");
      else if (type === 2) dyn = { off, size: filesz };
      else if (type === 1) loads.push({ vaddr, off, size: filesz });
    }
    if (!dyn) return { interp, needed: [] };
    const d = read(dyn.off, dyn.size);
    const needed: number[] = [];
    let strtab = -1;
    for (let o = 0; o + 2 * word <= d.length; o += 2 * word) {
      const tag = rd(d, o, word as 4 | 8);
      const val = rd(d, o + word, word as 4 | 8);
      if (tag === 0) break;
      if (tag === 1) needed.push(val);
      if (tag === 5) strtab = val;
    }
    const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.size);
    if (!seg) return { interp, needed: [] };
    const base = strtab - seg.vaddr + seg.off;
    const str = (at: number) =>
      read(base + at, 256)
        .toString("latin1")
        .replace(/\0.*$/s, "");
    return { interp, needed: needed.map(str) };
  } finally {
    closeSync(fd);
  }
}

/**
 * `program` (absolute path in `root`: the image, or "/" for the management node) with its
 * interpreter and libraries, or null if a library cannot be found there for `machine`.
 */
export function carryFrom(root: string, program: string, machine: number, from: CarriedTool["from"]): CarriedTool | null {
  const fs = new ImageRoot(root);
  const path = fs.follow(program);
  if (!lstatOrNull(path)?.isFile() || elfInfo(path)?.machine !== machine) return null;
  const top = dynInfo(path);
  if (!top) return null;
  const files = new Map<string, Buffer>([[basename(program), readFileSync(path)]]);
  const find = (name: string): string | null => {
    for (const d of libDirs(machine)) {
      const f = fs.follow(`${d}/${name}`);
      if (lstatOrNull(f)?.isFile() && elfInfo(f)?.machine === machine) return f;
    }
    return null;
  };
  const queue = [...top.needed];
  while (queue.length) {
    const n = queue.shift() as string;
    if (files.has(n)) continue;
    const f = find(n);
    if (!f) return null;
    files.set(n, readFileSync(f));
    queue.push(...(dynInfo(f)?.needed ?? []));
  }
  let interp: string | null = null;
  if (top.interp) {
    const f = fs.follow(top.interp);
    if (!lstatOrNull(f)?.isFile()) return null;
    interp = basename(top.interp);
    files.set(interp, readFileSync(f));
  }
  return { program: basename(program), interp, files: [...files].map(([name, data]) => ({ name, data })), from, path };
}
