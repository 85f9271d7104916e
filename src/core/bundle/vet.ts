import { createHash, type Hash } from "node:crypto";
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { DataError, fsError, IOFailure } from "../errors";
import { CAPTURE_FILE } from "./capture-record";
import { CHECKSUM_FILE, parseChecksums } from "./checksums";
import { ExpansionBudget } from "./expansion";
import { printableName, type TarEntry, TarParser } from "./tar";

/**
 * The first of import's two passes: read the whole bundle (gunzip + tar headers + SHA-256 of
 * every file) and refuse it before anything is extracted if any member could land outside
 * the staging directory or is not what a bundle holds. Rules (docs/bundles.md "Safety"):
 * - names are relative, without `..`, empty components or NUL; no duplicates;
 * - no member below a symlink or file member (the "symlink, then a file through it" attack);
 * - symlinks only inside the trees a bundle may carry (<img>/imagetree/, <img>/extra/);
 *   hard links and device nodes/FIFOs only inside <img>/imagetree/, and a hard link must
 *   name an earlier file of the same tree;
 * - manifests, checksum and litefile files have size limits; the archive must end properly;
 * - <img>/xcimg.sha256, when present, must match every file of that image exactly.
 */
export interface Member {
  name: string;
  entry: TarEntry;
  sha256?: string;
}

export interface ImageDir {
  /** Directory inside the bundle ("" for a seed-001 bundle with manifest.cfg at the top). */
  dir: string;
  kind: "xml" | "cfg";
  manifest: Buffer;
  litefile?: Buffer;
  /** The capture record a method's bundle carries (core/bundle/capture-record.ts). */
  capture?: Buffer;
  checksummed: boolean;
  /** xcimg-manifest.json and its signature, when the bundle was signed (core/provenance). */
  signedManifest?: Buffer;
  signature?: Buffer;
}

export interface VettedBundle {
  path: string;
  members: Map<string, Member>;
  images: ImageDir[];
  /** Sum of member data sizes: what extraction writes. */
  dataBytes: number;
  compressedBytes: number;
}

const LIMITS: Record<string, number> = {
  "manifest.xml": 1 << 20,
  "manifest.cfg": 1 << 20,
  "litefile.csv": 16 << 20,
  [CAPTURE_FILE]: 4 << 20,
  [CHECKSUM_FILE]: 64 << 20,
  "xcimg-manifest.json": 64 << 20,
  "xcimg-manifest.json.sig": 64 << 10,
};

/** Sub-trees of an image directory that may hold more than plain files and directories. */
export function treeArea(name: string): "imagetree" | "extra" | null {
  const parts = name.split("/");
  if (parts.length >= 3 && (parts[1] === "imagetree" || parts[1] === "extra")) return parts[1];
  return null;
}

/** Strip `./` prefixes and a trailing `/`; refuse names that could leave the staging directory. */
export function normaliseMemberName(raw: string): string {
  const shown = printableName(raw);
  if (raw.includes("\0")) throw new DataError(`bundle member '${shown}' has a NUL byte in its name`);
  if (raw.startsWith("/")) throw new DataError(`bundle member '${shown}' has an absolute path`, { hint: "bundles hold relative names only (./<image>/...)" });
  let n = raw;
  while (n.startsWith("./")) n = n.slice(2);
  if (n === "." || n === "") return "";
  n = n.replace(/\/$/, "");
  const parts = n.split("/");
  if (parts.includes(".."))
    throw new DataError(`bundle member '${shown}' has a '..' path component`, { hint: "a member name must not point outside the bundle" });
  if (parts.some((p) => p === "" || p === ".")) throw new DataError(`bundle member '${shown}' has an empty or '.' path component`);
  return n;
}

function ancestors(name: string): string[] {
  const parts = name.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

export class Vetter {
  readonly members = new Map<string, Member>();
  /** names that have members below them (implicit or explicit directories) */
  private readonly parents = new Set<string>();
  private readonly small = new Map<string, Buffer[]>();
  private current: { member: Member; hash: Hash; keep: Buffer[] | null; kept: number; limit: number } | null = null;
  dataBytes = 0;

  /** `free`: bytes free where the bundle will be extracted; a bundle holding more stops here. */
  constructor(
    private readonly free = Number.POSITIVE_INFINITY,
    private readonly freeWhere = "",
  ) {}

  entry(e: TarEntry): void {
    this.closeCurrent();
    const name = normaliseMemberName(e.name);
    const shown = printableName(name || ".");
    if (this.members.has(name)) throw new DataError(`bundle member '${shown}' appears twice`, { hint: "a later copy could replace what was checked" });
    if (name === "" && e.type !== "dir") throw new DataError("the bundle's top-level member is not a directory");
    for (const a of ancestors(name)) {
      const m = this.members.get(a);
      if (m && m.entry.type !== "dir") {
        throw new DataError(`bundle member '${shown}' lies below '${printableName(a)}', which is a ${m.entry.type}`, {
          hint: "extracting it would follow that link out of the bundle",
        });
      }
    }
    if (e.type !== "dir" && this.parents.has(name)) throw new DataError(`bundle member '${shown}' is a ${e.type} but other members lie below it`);
    // GNU tar extracts a regular member whose name ends in '/' as a directory (old tar's rule)
    if (e.type !== "dir" && /\/$/.test(e.name)) throw new DataError(`bundle member '${shown}' is a ${e.type} with a directory's name (trailing '/')`);
    const area = treeArea(name);
    // extended attributes, ACLs and labels belong to a root tree; elsewhere they could carry
    // file capabilities or a label onto a file the management node serves
    if (e.attrs && area !== "imagetree")
      throw new DataError(`bundle member '${shown}' carries extended attributes or ACLs; only an image tree may`, {
        hint: "re-export without xattrs, or remove them from the files outside the image tree",
      });
    switch (e.type) {
      case "file":
      case "dir":
        break;
      case "symlink":
        if (!area)
          throw new DataError(
            `bundle member '${shown}' is a symlink (to '${printableName(e.linkname)}'); symlinks are allowed only inside an image tree or an extra directory`,
          );
        break;
      case "hardlink": {
        if (area !== "imagetree")
          throw new DataError(`bundle member '${shown}' is a hard link to '${printableName(e.linkname)}'; hard links are allowed only inside an image tree`);
        const target = normaliseMemberName(e.linkname);
        const t = this.members.get(target);
        const sameTree = target.split("/")[0] === name.split("/")[0] && treeArea(target) === "imagetree";
        if (t?.entry.type !== "file" || !sameTree) {
          throw new DataError(`bundle member '${shown}' is a hard link to '${printableName(e.linkname)}', which is not an earlier file of the same image tree`);
        }
        break;
      }
      default:
        if (area !== "imagetree")
          throw new DataError(
            `bundle member '${shown}' is a ${e.type === "fifo" ? "FIFO" : `${e.type} device`}; device nodes and FIFOs are allowed only inside an image tree`,
          );
    }
    for (const a of ancestors(name)) this.parents.add(a);
    const member: Member = { name, entry: { ...e, name } };
    this.members.set(name, member);
    if (e.type === "file") {
      this.dataBytes += e.size;
      if (this.dataBytes > this.free)
        throw new IOFailure(`the bundle unpacks to more than the ${this.free} bytes free in ${this.freeWhere}`, { hint: "free some space and try again" });
      const base = name.split("/").pop() as string;
      const depth = name.split("/").length;
      const special = Object.hasOwn(LIMITS, base) && depth <= 2 ? (LIMITS[base] as number) : 0;
      if (special && e.size > special) throw new DataError(`bundle member '${shown}' is ${e.size} bytes, more than the ${special} allowed for ${base}`);
      const keep = special ? [] : null;
      if (keep) this.small.set(name, keep);
      this.current = { member, hash: createHash("sha256"), keep, kept: 0, limit: special };
    }
  }

  data(chunk: Uint8Array): void {
    const c = this.current;
    if (!c) return;
    c.hash.update(chunk);
    if (c.keep) c.keep.push(Buffer.from(chunk));
  }

  closeCurrent(): void {
    if (!this.current) return;
    this.current.member.sha256 = this.current.hash.digest("hex");
    this.current = null;
  }

  smallFile(name: string): Buffer | undefined {
    const parts = this.small.get(name);
    return parts ? Buffer.concat(parts) : undefined;
  }
}

/** Every refusal says what to do next (README: `Error:` + `hint:`); the specific ones carry their own. */
export function withRefusalHint(e: unknown): unknown {
  if (!(e instanceof DataError) || e.hint) return e;
  return new DataError(e.message, { hint: "the bundle is malformed or unsafe and nothing was imported; get a good copy from whoever made it", cause: e });
}

const GZIP_MAGIC = [0x1f, 0x8b];

function sniff(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw fsError(e, `Cannot find ${path}`);
  }
  try {
    const b = Buffer.alloc(512);
    const n = readSync(fd, b, 0, 512, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Read and check the whole bundle; nothing is written anywhere. */
export async function vetBundle(
  path: string,
  signal?: AbortSignal,
  space: { free: number; where: string } = { free: Number.POSITIVE_INFINITY, where: "" },
  /** Runs before the checksum file is compared: a signed statement names its signer and what differs. */
  provenance?: (b: VettedBundle) => void,
): Promise<VettedBundle> {
  const { v, compressedBytes } = await vetMembers(path, signal, space);
  const images = imageDirs(v, path);
  const vetted = { path, members: v.members, images, dataBytes: v.dataBytes, compressedBytes };
  provenance?.(vetted);
  for (const img of images) verifyChecksums(v, img, path);
  return vetted;
}

/**
 * The member-level half of vetBundle: every header and name checked, nothing about manifests.
 * What it accepts is what GNU tar is then allowed to extract (test/core/bundle/vet-fuzz.test.ts
 * compares the two readers on this).
 */
export async function vetMembers(
  path: string,
  signal?: AbortSignal,
  space: { free: number; where: string } = { free: Number.POSITIVE_INFINITY, where: "" },
): Promise<{ v: Vetter; compressedBytes: number }> {
  const head = sniff(path);
  if (head.length < 2 || head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
    const plainTar = head.length >= 262 && head.subarray(257, 262).toString("latin1") === "ustar";
    throw new DataError(`${path} is not a gzip-compressed bundle`, {
      hint: plainTar
        ? `it is an uncompressed tar; compress it first (gzip -k ${path}) and import the .gz`
        : "an image bundle is a .tgz made by 'xcimg export' or xCAT's imgexport",
    });
  }
  const v = new Vetter(space.free, space.where);
  const budget = new ExpansionBudget(path, statSync(path).size, Number.POSITIVE_INFINITY, space.where);
  const parser = new TarParser({ entry: (e) => v.entry(e), data: (c) => v.data(c) });
  let compressedBytes = 0;
  await new Promise<void>((resolve, reject) => {
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    const stop = (err: unknown) => {
      input.destroy();
      gunzip.destroy();
      reject(err);
    };
    const onAbort = () => stop(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    input.on("data", (c) => (compressedBytes += c.length));
    input.on("error", (e) => stop(fsError(e, `cannot read ${path}`)));
    gunzip.on("error", (e: NodeJS.ErrnoException) => {
      const truncated = e.code === "Z_BUF_ERROR" || /unexpected end/i.test(e.message);
      stop(new DataError(truncated ? `${path} is truncated (the gzip stream ends early)` : `${path} is corrupt: ${e.message}`));
    });
    gunzip.on("data", (chunk: Buffer) => {
      if (parser.ended) return; // zero padding after the end marker
      try {
        budget.add(chunk.length);
        parser.push(chunk);
      } catch (e) {
        stop(e);
      }
    });
    gunzip.on("end", () => {
      signal?.removeEventListener("abort", onAbort);
      try {
        v.closeCurrent();
        parser.finish();
        resolve();
      } catch (e) {
        reject(e instanceof DataError ? new DataError(`${path}: ${e.message}`) : e);
      }
    });
    input.pipe(gunzip);
  });
  return { v, compressedBytes };
}

function imageDirs(v: Vetter, path: string): ImageDir[] {
  const rootCfg = v.members.get("manifest.cfg");
  if (rootCfg) {
    // seed 001: manifest.cfg and its files at the top, nothing else
    for (const m of v.members.values()) {
      if (m.name !== "" && m.name.includes("/")) throw new DataError(`${path}: a manifest.cfg bundle holds flat files only, found '${printableName(m.name)}'`);
      if (m.name !== "" && m.entry.type !== "file")
        throw new DataError(`${path}: a manifest.cfg bundle holds flat files only, found ${m.entry.type} '${printableName(m.name)}'`);
    }
    return [{ dir: "", kind: "cfg", manifest: v.smallFile("manifest.cfg") as Buffer, checksummed: false }];
  }
  const tops = new Set<string>();
  for (const m of v.members.values()) {
    if (m.name === "") continue;
    const top = m.name.split("/")[0] as string;
    const topMember = v.members.get(top);
    if (topMember && topMember.entry.type !== "dir") {
      throw new DataError(`${path}: unexpected top-level ${topMember.entry.type} '${printableName(top)}'`, {
        hint: "a bundle holds one directory per image: ./<image>/manifest.xml ...",
      });
    }
    tops.add(top);
  }
  if (tops.size === 0) throw new DataError("Failed to find manifest.xml file in image bundle", { hint: `${path} holds no image directory` });
  const out: ImageDir[] = [];
  for (const dir of [...tops].sort()) {
    const xml = v.smallFile(`${dir}/manifest.xml`);
    const cfg = v.smallFile(`${dir}/manifest.cfg`);
    if (!xml && !cfg) throw new DataError("Failed to find manifest.xml file in image bundle", { hint: `${path}: ${printableName(dir)}/ has no manifest.xml` });
    out.push({
      dir,
      kind: xml ? "xml" : "cfg",
      manifest: (xml ?? cfg) as Buffer,
      litefile: v.smallFile(`${dir}/litefile.csv`),
      capture: v.smallFile(`${dir}/${CAPTURE_FILE}`),
      checksummed: v.members.has(`${dir}/${CHECKSUM_FILE}`),
      signedManifest: v.smallFile(`${dir}/xcimg-manifest.json`),
      signature: v.smallFile(`${dir}/xcimg-manifest.json.sig`),
    });
  }
  return out;
}

function verifyChecksums(v: Vetter, img: ImageDir, path: string): void {
  if (!img.checksummed) return;
  const sums = parseChecksums(v.smallFile(`${img.dir}/${CHECKSUM_FILE}`) ?? Buffer.alloc(0), `${img.dir}/${CHECKSUM_FILE}`);
  const prefix = `${img.dir}/`;
  for (const m of v.members.values()) {
    if (m.entry.type !== "file" || !m.name.startsWith(prefix) || m.name === `${prefix}${CHECKSUM_FILE}`) continue;
    const rel = m.name.slice(prefix.length);
    const want = sums.get(rel);
    if (want === undefined)
      throw new DataError(`${path}: ${printableName(m.name)} is not listed in ${img.dir}/${CHECKSUM_FILE}`, {
        hint: "the bundle was modified after it was made",
      });
    if (want !== m.sha256)
      throw new DataError(`${path}: checksum mismatch for ${printableName(m.name)}`, { hint: "the bundle is corrupt or was modified after it was made" });
    sums.delete(rel);
  }
  const missing = [...sums.keys()];
  if (missing.length) throw new DataError(`${path}: ${printableName(`${img.dir}/${missing[0]}`)} is listed in ${CHECKSUM_FILE} but missing from the bundle`);
}
