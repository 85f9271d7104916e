import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, execSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ArchiveSink, createSink } from "../../../src/core/pack/compress";
import { assertFitsCpio, writeCpio } from "../../../src/core/pack/cpio-archive";
import { PathFilter } from "../../../src/core/pack/exlist";
import { walkTree } from "../../../src/core/pack/walk";
import { readNewc } from "../../helpers/newc";
import { makeAwkwardTree, RAW_NAME_BYTES } from "../../helpers/trees";

/** Collects the uncompressed archive, to look at it header by header. */
class MemorySink implements ArchiveSink {
  chunks: Uint8Array[] = [];
  boundaries = 0;
  write(c: Uint8Array) {
    this.chunks.push(new Uint8Array(c)); // a sink copies what it keeps: the writer reuses its buffers
  }
  boundary() {
    this.boundaries++;
  }
  async finish() {
    return this.bytes().length;
  }
  abort() {}
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const dir = mkdtempSync(join(tmpdir(), "xcimg-cpio-"));
const tree = join(dir, "rootimg");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => makeAwkwardTree(tree));

async function archive(filter: PathFilter): Promise<Buffer> {
  const w = walkTree(tree, filter);
  const sink = new MemorySink();
  await writeCpio(tree, w.entries, sink);
  return sink.bytes();
}

const noFilter = new PathFilter({ excludes: [], includes: [] });
const excludeCache = new PathFilter({ excludes: ["./var/cache/*"], includes: [] });

describe("cpio newc writer", () => {
  test("deterministic: bytewise-sorted names, parents first, identical bytes twice", async () => {
    const a = await archive(noFilter);
    const b = await archive(noFilter);
    expect(a.equals(b)).toBe(true);
    const names = readNewc(a).map((e) => e.name);
    expect(names[0]?.toString()).toBe(".");
    const seen = new Set<string>(["."]);
    for (const n of names.slice(1)) {
      const s = n.toString("latin1");
      const parent = s.includes("/") ? s.slice(0, s.lastIndexOf("/")) : ".";
      expect(seen.has(parent)).toBe(true);
      seen.add(s);
    }
    // siblings in byte order (hardlink groups aside, which move together)
    const top = names.filter((n) => !n.includes(0x2f) && n.toString() !== ".");
    expect([...top].sort(Buffer.compare)).toEqual(top);
  });

  test("hardlinks: one renumbered inode, data on the first link, nlink counts the links archived", async () => {
    const entries = readNewc(await archive(excludeCache));
    const inos = entries.map((e) => e.ino);
    const hard = entries.filter((e) => ["usr/lib/libhard.so.1", "usr/bin/hard-a"].includes(e.name.toString()));
    expect(hard.length).toBe(2);
    expect(hard[0]?.ino).toBe(hard[1]?.ino as number);
    expect(hard.map((e) => e.nlink)).toEqual([2, 2]); // var/cache/hard-b was excluded
    expect(hard[0]?.data.toString()).toBe("hardlinked content\n");
    expect(hard[1]?.size).toBe(0);
    // the two links sit next to each other, so a member boundary can never split them
    expect(Math.abs(entries.indexOf(hard[0] as never) - entries.indexOf(hard[1] as never))).toBe(1);
    // inodes are 1..n in archive order, the group sharing one number
    const distinct = [...new Set(inos)];
    expect(distinct).toEqual(distinct.map((_, i) => i + 1));
    expect(entries.every((e) => e.name.toString() !== "var/cache/hard-b")).toBe(true);
  });

  test("GNU cpio -idm restores everything newc can carry", async () => {
    const out = join(dir, "extract");
    mkdirSync(out);
    const a = await archive(excludeCache);
    execFileSync("cpio", ["-idm", "--quiet", "--no-absolute-filenames"], { cwd: out, input: a });
    expect(readFileSync(join(out, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\necho tool\n");
    const su = statSync(join(out, "usr/bin/su-helper"));
    expect([su.mode & 0o7777, su.uid, su.gid]).toEqual([0o4755, 1234, 5678]);
    expect(statSync(join(out, "tmp")).mode & 0o7777).toBe(0o1777);
    const dev = lstatSync(join(out, "dev-null"));
    expect(dev.isCharacterDevice()).toBe(true);
    expect(dev.rdev).toBe(statSync("/dev/null").rdev);
    expect(lstatSync(join(out, "run-fifo")).isFIFO()).toBe(true);
    expect(readlinkSync(join(out, "bin"))).toBe("usr/bin");
    expect(readlinkSync(join(out, "usr/lib/libhard.so"))).toBe("/usr/lib/libhard.so.1");
    const h1 = statSync(join(out, "usr/lib/libhard.so.1"));
    const h2 = statSync(join(out, "usr/bin/hard-a"));
    expect(h1.ino).toBe(h2.ino);
    expect(h1.nlink).toBe(2);
    expect(readFileSync(join(out, "usr/bin/hard-a"), "utf8")).toBe("hardlinked content\n");
    const raw = readFileSync(Buffer.concat([Buffer.from(`${out}/odd-`), RAW_NAME_BYTES, Buffer.from("-name")]), "utf8");
    expect(raw).toBe("raw\n");
    expect(statSync(join(out, "etc/hostname")).mtime.toISOString()).toBe("1999-01-01T00:00:00.000Z");
    expect(readFileSync(join(out, "var/lib/data.bin")).equals(Buffer.alloc(70000, 3))).toBe(true);
    expect(statSync(join(out, "var/cache")).isDirectory()).toBe(true);
    expect(() => statSync(join(out, "var/cache/apt"))).toThrow();
  });

  test("an include below an excluded directory brings its parents along", async () => {
    const f = new PathFilter({ excludes: ["./usr/share/locale*"], includes: ["./usr/share/locale/en_US*"] });
    const names = readNewc(await archive(f)).map((e) => e.name.toString());
    expect(names).toContain("usr/share/locale");
    expect(names).toContain("usr/share/locale/en_US/LC_MESSAGES/x.mo");
    expect(names).not.toContain("usr/share/locale/de");
    expect(names.indexOf("usr/share/locale")).toBeLessThan(names.indexOf("usr/share/locale/en_US"));
  });

  test("a file over 4 GiB is refused with a pointer to -m tar", () => {
    const big = join(dir, "bigtree");
    mkdirSync(big);
    const f = join(big, "huge.img");
    closeSync(openSync(f, "w"));
    truncateSync(f, 5 * 2 ** 30); // sparse: costs no disk
    const w = walkTree(big, noFilter);
    expect(() => assertFitsCpio(w.entries)).toThrow(/cpio cannot hold files over 4 GiB: \/huge.img \(5.0 GiB\)/);
    try {
      assertFitsCpio(w.entries);
    } catch (e) {
      expect((e as { hint: string }).hint).toContain("-m tar");
      expect((e as { exitCode: number }).exitCode).toBe(65);
    }
  });
});

describe("parallel compression into independent members", () => {
  // one big (streamed) file between small ones, so both member kinds are exercised
  beforeAll(() => {
    writeFileSync(join(tree, "var/lib/big.bin"), randomBytes(36 << 20));
    mkdirSync(join(tree, "usr/lib/many"));
    for (let i = 0; i < 40; i++) writeFileSync(join(tree, `usr/lib/many/f${i}`), randomBytes(3000));
  });

  for (const compression of ["gzip", "zstd"] as const) {
    test(`${compression}: many members, concatenated, decompress to the exact archive and extract fully`, async () => {
      const w = walkTree(tree, noFilter);
      const raw = new MemorySink();
      await writeCpio(tree, w.entries, raw);
      const out = join(dir, `a.cpio.${compression}`);
      const fd = openSync(out, "w");
      const sink = createSink({ fd, compression, pieceSize: 4096, workers: 2 });
      await writeCpio(tree, w.entries, sink);
      const packed = await sink.finish();
      closeSync(fd);
      expect(statSync(out).size).toBe(packed);
      const unz = compression === "gzip" ? "gzip -dc" : "zstd -dcq";
      const plain = execSync(`${unz} ${out}`, { maxBuffer: 1 << 30 });
      expect(plain.equals(raw.bytes())).toBe(true);
      const members = compression === "gzip" ? countGzipMembers(readFileSync(out)) : 0;
      if (compression === "gzip") expect(members).toBeGreaterThan(20);
      const x = join(dir, `x-${compression}`);
      mkdirSync(x);
      execSync(`${unz} ${out} | cpio -idm --quiet`, { cwd: x });
      expect(readFileSync(join(x, "var/lib/big.bin")).equals(readFileSync(join(tree, "var/lib/big.bin")))).toBe(true);
      expect(readFileSync(join(x, "usr/share/doc/pkg/README"), "utf8")).toBe("docs\n");
    }, 60000);
  }
});

describe("compressed archives are the same bytes every time", () => {
  // a file over the stream threshold (32 MiB) goes through one worker in 8 MiB chunks; its
  // writes used to overlap when chunks came faster than zstd took them, and the bytes varied
  const same = join(dir, "same-tree");
  beforeAll(() => {
    mkdirSync(join(same, "var"), { recursive: true });
    writeFileSync(join(same, "var/big.bin"), Buffer.concat([randomBytes(12 << 20), Buffer.alloc(28 << 20, 7)]));
    for (let i = 0; i < 20; i++) writeFileSync(join(same, `var/f${i}`), randomBytes(5000));
  });
  for (const compression of ["gzip", "zstd"] as const) {
    test(`${compression}: three packs of one tree, one digest`, async () => {
      const w = walkTree(same, noFilter);
      const sums = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const out = join(dir, `same-${i}.cpio.${compression}`);
        const fd = openSync(out, "w");
        const sink = createSink({ fd, compression, pieceSize: 1 << 20, workers: 2 });
        await writeCpio(same, w.entries, sink);
        await sink.finish();
        closeSync(fd);
        sums.add(createHash("sha256").update(readFileSync(out)).digest("hex"));
      }
      expect(sums.size).toBe(1);
    }, 120000);
  }
});

/** Members the gzip workers wrote: libdeflate's fixed 10-byte header, or zlib's for streamed ones. */
function countGzipMembers(buf: Buffer): number {
  let n = 0;
  for (const h of ["1f8b08000000000000ff", "1f8b0800000000000003"]) {
    const header = Buffer.from(h, "hex");
    for (let off = buf.indexOf(header); off >= 0; off = buf.indexOf(header, off + 1)) n++;
  }
  return n;
}
