import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeHeader, type MemoryEntry, memoryCpio, newcTime, pad4, trailer } from "../../../src/core/archive/cpio";

/**
 * memoryCpio builds every node's overlay (and the boot initrds) in one buffer, sized first. The
 * kernel's unpacker is strict about newc's 4-byte padding of names and data, so GNU cpio, which
 * is as strict, must read back every name, mode, owner and byte: data lengths 0..5 cover each
 * padding, names of every length modulo 4, a UTF-8 name (its length in bytes, not characters).
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xcimg-memory-cpio-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("memoryCpio", () => {
  test("GNU cpio unpacks every entry: names, modes, owners, data, a symlink, padding of each length", () => {
    const entries: MemoryEntry[] = [
      { name: "etc", mode: 0o040755 },
      { name: "etc/ssh", mode: 0o040700, uid: 0, gid: 0 },
      { name: "root", mode: 0o040700 },
      { name: "root/.ssh", mode: 0o040700 },
    ];
    const files: [string, string | Uint8Array, number][] = [];
    for (let n = 0; n <= 5; n++) files.push([`etc/f${"x".repeat(n)}`, "y".repeat(n), 0o644]);
    files.push(["etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0o600]);
    files.push(["etc/grüße.txt", "grüße\n", 0o644]);
    files.push(["etc/bin.dat", new Uint8Array([0, 1, 2, 255, 254, 0, 7]), 0o755]);
    for (const [name, data, mode] of files) entries.push({ name, mode: 0o100000 | mode, data });
    entries.push({ name: "etc/link", mode: 0o120777, data: "/etc/fxx" });
    const archive = join(dir, "overlay.cpio");
    writeFileSync(archive, memoryCpio(entries, 1_700_000_000));

    const listed = execFileSync("cpio", ["-it", "--quiet"], { input: readFileSync(archive) })
      .toString()
      .trim()
      .split("\n");
    expect(listed).toEqual(entries.map((e) => e.name));

    const out = join(dir, "out");
    execFileSync("sh", ["-c", `mkdir -p "${out}" && cd "${out}" && cpio -idm --quiet --no-absolute-filenames < "${archive}"`]);
    for (const [name, data, mode] of files) {
      expect(readFileSync(join(out, name))).toEqual(Buffer.from(data));
      expect(lstatSync(join(out, name)).mode & 0o7777).toBe(mode);
      expect(Math.floor(lstatSync(join(out, name)).mtimeMs / 1000)).toBe(1_700_000_000);
    }
    expect(lstatSync(join(out, "etc/ssh")).mode & 0o7777).toBe(0o700);
    expect(readlinkSync(join(out, "etc/link"))).toBe("/etc/fxx");
  });

  test("an empty list is just the trailer, as GNU cpio writes it", () => {
    const a = memoryCpio([], 0);
    expect(a.length % 4).toBe(0);
    expect(a.subarray(0, 6).toString()).toBe("070701");
    expect(a.includes(Buffer.from("TRAILER!!!\0"))).toBe(true);
    expect(execFileSync("cpio", ["-it", "--quiet"], { input: a }).toString()).toBe("");
  });

  test("byte for byte what the entry-by-entry writer (encodeHeader, as pack uses it) makes, for 2,000 random lists", () => {
    // memoryCpio writes into a buffer it does not zero first: every NUL and pad byte must be written
    const reference = (entries: MemoryEntry[], mtime: number) => {
      const parts: Buffer[] = [];
      entries.forEach((e, i) => {
        const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
        const header = { ino: i + 1, mode: e.mode, uid: e.uid ?? 0, gid: e.gid ?? 0, nlink: (e.mode & 0o170000) === 0o040000 ? 2 : 1, mtime: newcTime(mtime) };
        parts.push(encodeHeader({ ...header, size: data.length, rdevMajor: e.rdevMajor ?? 0, rdevMinor: e.rdevMinor ?? 0 }, Buffer.from(e.name)));
        parts.push(data, Buffer.alloc(pad4(data.length)));
      });
      return Buffer.concat([...parts, trailer()]);
    };
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const chars = "abcé/ü.-_x0\n'\"";
    const str = (n: number) => Array.from({ length: n }, () => chars[rnd(chars.length)]).join("");
    for (let k = 0; k < 2000; k++) {
      const entries: MemoryEntry[] = [];
      for (let i = rnd(20); i > 0; i--) {
        const t = rnd(4);
        if (t === 0) entries.push({ name: str(1 + rnd(20)), mode: 0o040755, uid: rnd(3), gid: rnd(3) });
        else if (t === 1) entries.push({ name: str(1 + rnd(30)), mode: 0o100644, data: str(rnd(300)) });
        else if (t === 2) entries.push({ name: str(1 + rnd(30)), mode: 0o100600, data: new Uint8Array(rnd(50)).map(() => rnd(256)) });
        else entries.push({ name: str(3), mode: 0o020600, rdevMajor: rnd(9), rdevMinor: rnd(9) });
      }
      const mtime = rnd(2) ? 1_700_000_000 + rnd(1000) : -5;
      // a dirty pool first, so that a byte left unwritten would show
      Buffer.allocUnsafe(65536).fill(0xa5);
      expect(memoryCpio(entries, mtime).equals(reference(entries, mtime))).toBe(true);
    }
  });
});
