import { createHash } from "node:crypto";
import { createReadStream, lstatSync, openSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { DataError } from "../errors";
import { printableName } from "./tar";

/**
 * The check after extraction. A bundle is read twice — once by xcimg's vetter, once by GNU
 * tar (or cpio) to extract it — and two parsers of one archive can disagree (pax keywords one
 * of them honours, prefix rules, duplicate members): a member vetted as a harmless symlink
 * under extra/ could come out of GNU tar as the image's kernel. So before anything is placed,
 * the staging directory is walked with lstat and must hold exactly what was vetted: the same
 * names, types, sizes and link targets, and the same content where a digest is known. Any
 * difference refuses the bundle (exit 65) and the staging directory is thrown away.
 */
export interface Expected {
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "socket";
  size?: number;
  linkname?: string;
  /** For a hard link: the expected entry it shares an inode with. */
  hardlinkTo?: string;
  sha256?: string;
  /** A regular file that must have no other name (outside a root tree nothing is hard-linked). */
  single?: boolean;
}

function typeOf(st: Stats): Expected["type"] {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isDirectory()) return "dir";
  if (st.isFile()) return "file";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "socket";
}

/** `rel` names are raw bytes as latin1 (as the tar and cpio readers carry them). */
function fsPath(dir: string, rel: string): Buffer {
  return rel ? Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(rel, "latin1")]) : Buffer.from(dir);
}

function walk(dir: string, rel: string, out: Map<string, Stats>): void {
  for (const name of readdirSync(fsPath(dir, rel), { encoding: "buffer" })) {
    const r = rel ? `${rel}/${name.toString("latin1")}` : name.toString("latin1");
    const st = lstatSync(fsPath(dir, r));
    out.set(r, st);
    if (st.isDirectory()) walk(dir, r, out);
  }
}

async function sha256(path: Buffer): Promise<string> {
  const h = createHash("sha256");
  // by fd: Bun's createReadStream takes no Buffer path, and names are raw bytes
  const fd = openSync(path, "r");
  for await (const c of createReadStream("", { fd, highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest("hex");
}

/**
 * Compare the tree under `dir` with `expected` (relative names; "" is `dir` itself, and the
 * parents of expected names may exist as directories without being listed). `what` names the
 * archive in messages.
 */
export async function verifyExtracted(dir: string, expected: Map<string, Expected>, what: string): Promise<void> {
  const found = new Map<string, Stats>();
  walk(dir, "", found);
  const implicit = new Set<string>();
  for (const name of expected.keys()) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) implicit.add(parts.slice(0, i).join("/"));
  }
  const differ = (name: string, why: string) =>
    new DataError(`${what}: '${printableName(name)}' ${why}`, {
      hint: "the archive reads differently to GNU tar/cpio than to xcimg's check (a crafted archive): nothing was imported",
    });
  for (const [name, st] of found) {
    const want = expected.get(name);
    if (!want) {
      if (implicit.has(name) && st.isDirectory() && !st.isSymbolicLink()) continue;
      throw differ(name, `was extracted (as a ${typeOf(st)}) but is not in the checked archive`);
    }
    const got = typeOf(st);
    const wantType = want.type === "hardlink" ? "file" : want.type;
    if (got !== wantType) throw differ(name, `was checked as a ${want.type} but extracted as a ${got}`);
    if (want.type === "file" && want.size !== undefined && st.size !== want.size)
      throw differ(name, `was checked with ${want.size} bytes but extracted with ${st.size}`);
    if (want.type === "file" && want.single && st.nlink !== 1) throw differ(name, "was extracted as a hard link");
    if (want.type === "symlink" && want.linkname !== undefined) {
      const target = readlinkSync(fsPath(dir, name), "buffer").toString("latin1");
      if (target !== want.linkname) throw differ(name, `was checked as a link to '${printableName(want.linkname)}' but points to '${printableName(target)}'`);
    }
    if (want.type === "hardlink" && want.hardlinkTo !== undefined) {
      const other = found.get(want.hardlinkTo);
      if (!other || other.ino !== st.ino || other.dev !== st.dev) throw differ(name, `is not the same file as '${printableName(want.hardlinkTo)}'`);
    }
  }
  for (const [name, want] of expected) {
    if (name === "") continue;
    if (!found.has(name)) throw differ(name, `was checked (a ${want.type}) but not extracted`);
  }
  for (const [name, want] of expected) {
    if (want.type !== "file" || !want.sha256) continue;
    const got = await sha256(fsPath(dir, name));
    if (got !== want.sha256) throw differ(name, "was extracted with other content than was checked");
  }
}
