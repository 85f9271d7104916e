/**
 * Hand-made tar archives for hostile-bundle tests: any name, type and link target, written
 * as plain ustar headers (no tool would write most of these on purpose).
 */
export interface Entry {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  data?: string | Uint8Array;
  link?: string;
  mode?: number;
  uid?: number;
  /** pax extended-header records written before the member ('x' header). */
  pax?: Record<string, string>;
}

const FLAG = { file: "0", dir: "5", symlink: "2", hardlink: "1", char: "3", block: "4", fifo: "6" } as const;

function header(e: Entry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, s: string) => h.set(Buffer.from(s, "latin1"), off);
  const oct = (off: number, len: number, v: number) => put(off, `${v.toString(8).padStart(len - 1, "0")}\0`);
  put(0, e.name.slice(0, 100));
  oct(100, 8, e.mode ?? (e.type === "dir" ? 0o755 : 0o644));
  oct(108, 8, e.uid ?? 0);
  oct(116, 8, e.uid ?? 0);
  oct(124, 12, size);
  oct(136, 12, 1_700_000_000);
  put(156, FLAG[e.type ?? "file"]);
  if (e.link) put(157, e.link.slice(0, 100));
  put(257, "ustar\u000000");
  if (e.type === "char" || e.type === "block") {
    oct(329, 8, 1);
    oct(337, 8, 3);
  }
  fixChecksum(h);
  return h;
}

function fixChecksum(h: Uint8Array): void {
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `, "latin1"), 148);
}

function paxRecords(records: Record<string, string>): Buffer {
  let s = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    s += `${len}${body}`;
  }
  return Buffer.from(s, "latin1");
}

export function tarball(entries: Entry[], opts: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.pax) {
      const body = paxRecords(e.pax);
      parts.push(header({ name: "PaxHeaders/x", type: "file", mode: 0o644 }, body.length));
      parts[parts.length - 1]?.set([0x78], 156); // typeflag 'x'
      fixChecksum(parts[parts.length - 1] as Uint8Array);
      const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
      padded.set(body);
      parts.push(padded);
    }
    const data = typeof e.data === "string" ? Buffer.from(e.data) : (e.data ?? new Uint8Array(0));
    parts.push(header(e, data.length));
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    parts.push(padded);
  }
  if (opts.end !== false) parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}

export function tgz(entries: Entry[], opts: { end?: boolean } = {}): Uint8Array {
  return Bun.gzipSync(new Uint8Array(tarball(entries, opts)));
}
