/**
 * GNU tar archives the tree's top (`.`) from the directory as it is on the management node,
 * root:root 0700 (image/tree-barrier.ts); nodes must get the recorded `/` instead. This patches
 * the first member's ustar header in the stream: pax extended headers (`x`, `g`: xattrs,
 * SELinux label, times of `.`) are passed through, then mode, uid and gid of the first real
 * header are rewritten and its checksum recomputed (POSIX.1-2001 ustar: mode at 100, uid 108,
 * gid 116, size 124, chksum 148, typeflag 156). Nothing else in the archive changes.
 */
const BLOCK = 512;

export class FirstTarEntryPatch {
  private held = Buffer.alloc(0);
  private done = false;
  /** Bytes of pax extended-header data still to pass before the next header. */
  private skip = 0;

  constructor(private readonly top: { mode: number; uid: number; gid: number }) {}

  push(chunk: Uint8Array): Buffer {
    if (this.done) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let buf = Buffer.concat([this.held, chunk]);
    let off = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - off);
        off += n;
        this.skip -= n;
        if (this.skip > 0) break;
      }
      if (buf.length - off < BLOCK) break;
      const type = String.fromCharCode(buf[off + 156] as number);
      if (type === "x" || type === "g") {
        const size = Number.parseInt(
          buf
            .toString("latin1", off + 124, off + 136)
            .replace(/\0.*$/, "")
            .trim() || "0",
          8,
        );
        off += BLOCK;
        this.skip = Math.ceil(size / BLOCK) * BLOCK;
        continue;
      }
      buf = Buffer.from(buf); // own copy: the header is rewritten in place
      patchHeader(buf, off, this.top);
      this.done = true;
      this.held = Buffer.alloc(0);
      return buf;
    }
    // the first real header is not complete yet: pass what is before the held part
    const keep = this.skip > 0 ? 0 : buf.length - off;
    this.held = Buffer.from(buf.subarray(buf.length - keep));
    return buf.subarray(0, buf.length - keep);
  }

  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    this.done = true;
    return rest;
  }
}

function octal(buf: Buffer, off: number, width: number, value: number): void {
  // width-1 digits and a NUL, as GNU tar writes them
  buf.write(`${value.toString(8).padStart(width - 1, "0")}\0`, off, width, "latin1");
}

function patchHeader(buf: Buffer, off: number, top: { mode: number; uid: number; gid: number }): void {
  octal(buf, off + 100, 8, top.mode & 0o7777);
  if (top.uid < 0o7777777) octal(buf, off + 108, 8, top.uid);
  if (top.gid < 0o7777777) octal(buf, off + 116, 8, top.gid);
  buf.fill(0x20, off + 148, off + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[off + i] as number;
  buf.write(`${sum.toString(8).padStart(6, "0")}\0 `, off + 148, 8, "latin1");
}
