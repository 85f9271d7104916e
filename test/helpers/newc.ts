/** A minimal reader of cpio newc archives, to check what xcimg wrote header by header. */
export interface NewcEntry {
  name: Buffer;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

export function readNewc(buf: Buffer): NewcEntry[] {
  const out: NewcEntry[] = [];
  let off = 0;
  const pad = (n: number) => (4 - (n % 4)) % 4;
  for (;;) {
    const magic = buf.toString("latin1", off, off + 6);
    if (magic !== "070701") throw new Error(`bad magic ${JSON.stringify(magic)} at ${off}`);
    const f = (i: number) => Number.parseInt(buf.toString("latin1", off + 6 + i * 8, off + 14 + i * 8), 16);
    const namesize = f(11);
    const size = f(6);
    const name = buf.subarray(off + 110, off + 110 + namesize - 1);
    const dataStart = off + 110 + namesize + pad(110 + namesize);
    const e: NewcEntry = {
      name: Buffer.from(name),
      ino: f(0),
      mode: f(1),
      uid: f(2),
      gid: f(3),
      nlink: f(4),
      mtime: f(5),
      size,
      rdevMajor: f(9),
      rdevMinor: f(10),
      data: buf.subarray(dataStart, dataStart + size),
    };
    off = dataStart + size + pad(size);
    if (e.name.toString() === "TRAILER!!!") return out;
    out.push(e);
  }
}
