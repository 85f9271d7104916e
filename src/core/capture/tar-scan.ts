/**
 * Counts what a tar stream carries while it passes through, without touching the data: a
 * walk over the 512-byte headers (pax extended headers parsed for size overrides and sparse
 * real sizes), skipping data blocks by arithmetic. It gives the capture summary exact numbers
 * (files, links, bytes of file data) and tells whether the archive ended properly. It can also
 * list the names of the non-directory members (binary strings, "./" removed): what a capture
 * changed, which the next capture replays (see tree.ts).
 */
export interface TarCounts {
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  specials: number;
  /** Logical size of regular files (sparse files count their real size). */
  bytes: number;
}

const BLOCK = 512;
/** Memory the list of changed names may take (about one byte per character). */
export const MAX_NAME_BYTES = 256 * 1024 * 1024;
const KEYS = new Set(["size", "path", "GNU.sparse.name", "GNU.sparse.realsize", "GNU.sparse.size"]);

export class TarScanner implements TarCounts {
  entries = 0;
  files = 0;
  dirs = 0;
  symlinks = 0;
  hardlinks = 0;
  specials = 0;
  bytes = 0;
  /** Two zero blocks seen: the archive ended properly. */
  ended = false;
  /** The stream did not parse as tar; counting stopped. */
  broken = false;

  private header = Buffer.alloc(BLOCK);
  private fill = 0;
  private skip = 0;
  private zeroBlocks = 0;
  private pax: { buf: Buffer[]; need: number; global: boolean; longName: boolean } | null = null;
  private override: Record<string, string> = {};
  private longName: string | null = null;
  /**
   * Names of non-directory members, when asked for; dropped (null) past MAX_NAME_BYTES, since
   * the node decides how many it sends: the next capture then starts from a hardlink copy of
   * the live tree instead of replaying them (capture.ts), slower but the same result.
   */
  names: string[] | null;
  private nameBytes = 0;

  constructor(opts: { names?: boolean } = {}) {
    this.names = opts.names ? [] : null;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.ended && !this.broken) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        if (this.pax) this.pax.buf.push(chunk.subarray(i, i + n));
        this.skip -= n;
        i += n;
        if (this.skip === 0 && this.pax) this.finishPax();
        continue;
      }
      const n = Math.min(BLOCK - this.fill, chunk.length - i);
      chunk.copy(this.header, this.fill, i, i + n);
      this.fill += n;
      i += n;
      if (this.fill === BLOCK) {
        this.fill = 0;
        this.onHeader();
      }
    }
  }

  private onHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks >= 2) this.ended = true;
      return;
    }
    this.zeroBlocks = 0;
    if (!validChecksum(h)) {
      this.broken = true;
      return;
    }
    const type = String.fromCharCode(h[156] as number);
    const size = this.override.size !== undefined ? Number(this.override.size) : parseNumber(h.subarray(124, 136));
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x" || type === "g" || type === "L") {
      // pax or GNU long-name data is collected, then applies to the next entry
      this.pax = { buf: [], need: size, global: type === "g", longName: type === "L" };
      this.skip = padded;
      if (padded === 0) this.finishPax();
      return;
    }
    if (type === "K") {
      this.skip = padded; // GNU long link target: not needed
      return;
    }
    this.entries++;
    if (this.names && type !== "5" && type !== "D") {
      const name = this.memberName(h);
      this.nameBytes += name.length + 16;
      if (this.nameBytes > MAX_NAME_BYTES) this.names = null;
      else this.names.push(name);
    }
    switch (type) {
      case "0":
      case "\0":
      case "7":
      case "S":
        this.files++;
        this.bytes += Number(this.override["GNU.sparse.realsize"] ?? this.override["GNU.sparse.size"] ?? size);
        break;
      case "1":
        this.hardlinks++;
        break;
      case "2":
        this.symlinks++;
        break;
      case "5":
      case "D":
        this.dirs++;
        break;
      default:
        this.specials++;
    }
    this.override = {};
    this.longName = null;
    this.skip = padded;
  }

  private memberName(h: Buffer): string {
    // sparse files in pax format 1.0 carry a placeholder path and their name in GNU.sparse.name
    let name = this.override["GNU.sparse.name"] ?? this.override.path ?? this.longName;
    if (name === undefined || name === null) {
      const field = (a: number, b: number) => h.subarray(a, b).toString("latin1").replace(/\0.*$/s, "");
      const prefix = h.subarray(257, 262).toString("latin1") === "ustar" ? field(345, 500) : "";
      name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    }
    return name.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  }

  private finishPax(): void {
    const p = this.pax;
    this.pax = null;
    if (!p) return;
    const data = Buffer.concat(p.buf).subarray(0, p.need);
    if (p.longName) {
      this.longName = data.toString("latin1").replace(/\0.*$/s, "");
      return;
    }
    if (p.global) return;
    // records: "<len> <key>=<value>\n"
    let pos = 0;
    while (pos < data.length) {
      const sp = data.indexOf(0x20, pos);
      if (sp < 0) break;
      const len = Number(data.subarray(pos, sp).toString("latin1"));
      if (!Number.isFinite(len) || len <= 0) break;
      const rec = data.subarray(sp + 1, pos + len - 1).toString("latin1");
      const eq = rec.indexOf("=");
      if (eq > 0) {
        const key = rec.slice(0, eq);
        if (KEYS.has(key)) this.override[key] = rec.slice(eq + 1);
      }
      pos += len;
    }
  }

  counts(): TarCounts {
    const { entries, files, dirs, symlinks, hardlinks, specials, bytes } = this;
    return { entries, files, dirs, symlinks, hardlinks, specials, bytes };
  }
}

/** Octal ASCII, or base-256 when the high bit of the first byte is set (GNU, for big values). */
function parseNumber(field: Buffer): number {
  if ((field[0] as number) & 0x80) {
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + (field[i] as number);
    return v;
  }
  const s = field
    .toString("latin1")
    .replace(/^[ \0]+/, "")
    .replace(/[ \0].*$/s, "");
  return s ? Number.parseInt(s, 8) : 0;
}

function validChecksum(h: Buffer): boolean {
  const stored = parseNumber(h.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  return sum === stored;
}
