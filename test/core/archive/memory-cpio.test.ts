import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MemoryEntry, memoryCpio } from "../../../src/core/archive/cpio";

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
});
