import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { TarParser } from "../../../src/core/bundle/tar";
import { ParallelGzip } from "../../../src/core/compress/gzip";

/** The two stream pieces every bundle goes through: parallel gzip and the tar header reader. */
describe("ParallelGzip", () => {
  test("many members, in order, readable by gzip and node:zlib; compressed data is stored", async () => {
    const chunks: Uint8Array[] = [];
    const gz = new ParallelGzip(
      async (c) => {
        chunks.push(c);
      },
      { blockSize: 64 << 10, workers: 2 },
    );
    const input: Uint8Array[] = [];
    let seed = 1;
    for (let i = 0; i < 60; i++) {
      const n = 1000 + ((i * 7919) % 90_000);
      const random = i % 3 === 0;
      const b = new Uint8Array(n);
      for (let k = 0; k < n; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        b[k] = random ? seed >>> 24 : 97 + (k % 7);
      }
      input.push(b);
      await gz.write(b, random);
    }
    await gz.end();
    const out = Buffer.concat(chunks);
    const want = Buffer.concat(input);
    expect(gunzipSync(out).equals(want)).toBe(true);
    const viaGzip = Bun.spawnSync(["gzip", "-dc"], { stdin: out, stdout: "pipe" });
    expect(Buffer.from(viaGzip.stdout).equals(want)).toBe(true);
    let members = 0;
    for (let i = 0; i + 2 < out.length; i++) if (out[i] === 0x1f && out[i + 1] === 0x8b && out[i + 2] === 8) members++;
    expect(members).toBeGreaterThan(10);
    expect(gz.bytesOut).toBe(out.length);
  });
});

describe("TarParser on GNU tar's own output", () => {
  test("long names (GNU and pax), xattr records, data hashes, end marker", () => {
    const dir = mkdtempSync(join(tmpdir(), "xcimg-tarparse-"));
    try {
      const long = `${"d".repeat(120)}/${"f".repeat(120)}.txt`;
      mkdirSync(join(dir, "t", "d".repeat(120)), { recursive: true });
      writeFileSync(join(dir, "t", long), "long\n");
      writeFileSync(join(dir, "t", "short"), Buffer.alloc(70_000, 1));
      Bun.spawnSync(["setfattr", "-n", "user.k", "-v", "v", join(dir, "t", "short")]);
      for (const format of ["gnu", "posix"]) {
        const tar = Bun.spawnSync(["tar", "-c", `--format=${format}`, "--xattrs", "-C", join(dir, "t"), "."], { stdout: "pipe" }).stdout;
        const seen = new Map<string, string>();
        let current: { name: string; h: ReturnType<typeof createHash> } | null = null;
        const close = () => {
          if (current) seen.set(current.name, current.h.digest("hex"));
          current = null;
        };
        const p = new TarParser({
          entry(e) {
            close();
            if (e.type === "file") current = { name: e.name, h: createHash("sha256") };
          },
          data(c) {
            current?.h.update(c);
          },
        });
        for (let i = 0; i < tar.length; i += 1000) p.push(tar.subarray(i, i + 1000)); // odd chunking
        close();
        p.finish();
        expect(p.ended).toBe(true);
        expect(seen.get(`./${long}`)).toBe(createHash("sha256").update("long\n").digest("hex"));
        expect(seen.get("./short")).toBe(createHash("sha256").update(Buffer.alloc(70_000, 1)).digest("hex"));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
