import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alignGzipAfter } from "../../../src/core/boot/initrd-align";
import { bootInitrd } from "../../../src/core/initrd/stateless";

/**
 * The initrd before a node's uncompressed overlay ends on a 4-byte boundary whatever came
 * before it (the packed image's size), and stays a gzip stream that gzip(1) and Bun both
 * read back byte for byte (the kernel's side is test/e2e/dhcp-uefi-boot.test.ts).
 */
describe("alignGzipAfter", () => {
  const gz = bootInitrd(0);
  const plain = Bun.gunzipSync(gz as Uint8Array<ArrayBuffer>);
  for (const before of [0, 1, 2, 3, 12529438, 12529439]) {
    test(`after ${before} bytes`, () => {
      const out = alignGzipAfter(gz, before);
      expect((before + out.length) % 4).toBe(0);
      expect(out.length - gz.length).toBeLessThanOrEqual(5);
      expect(Buffer.from(Bun.gunzipSync(out as Uint8Array<ArrayBuffer>)).equals(Buffer.from(plain))).toBe(true);
      const dir = mkdtempSync(join(tmpdir(), "xcimg-align-"));
      try {
        writeFileSync(join(dir, "i.gz"), out);
        expect(execFileSync("gzip", ["-dc", join(dir, "i.gz")]).equals(Buffer.from(plain))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
  test("an already aligned stream is returned as it is; anything but a plain gzip stream is refused", () => {
    expect(alignGzipAfter(gz, (4 - (gz.length % 4)) % 4)).toBe(gz);
    expect(() => alignGzipAfter(Buffer.from("070701..................."), 0)).toThrow("internal");
  });
});
