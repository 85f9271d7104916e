import { afterAll, describe, expect, test } from "bun:test";
import { execSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FirstTarEntryPatch } from "../../../src/core/pack/tar-top";

/**
 * pack -m tar gives the archive's `.` the node's / (tar-top.ts): GNU tar's own archive of a
 * 0700 top with a pax extended header (a 600-byte xattr on `.`), cut into chunks of every
 * awkward size, comes out with `.` 0755 root:root, a valid checksum, the xattr intact, and every
 * other byte as tar wrote it.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-tartop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("FirstTarEntryPatch", () => {
  test("the first member's mode, uid, gid are rewritten behind its pax header, whatever the chunking", () => {
    const tree = join(dir, "tree");
    mkdirSync(tree);
    writeFileSync(join(tree, "f"), "x");
    chmodSync(tree, 0o700);
    execSync(`setfattr -n user.top -v ${"v".repeat(600)} '${tree}'`);
    const raw = execSync(`tar --xattrs --xattrs-include='*' --numeric-owner -C '${tree}' -cf - .`);
    expect(String.fromCharCode(raw[156] as number)).toBe("x"); // the pax header of `.` comes first
    const paxSize = Number.parseInt(raw.toString("latin1", 124, 135), 8);
    const header = 512 + Math.ceil(paxSize / 512) * 512; // where the header of `.` starts
    expect(header).toBeGreaterThan(512);
    for (const step of [1, 7, 511, 512, 513, 1 << 20]) {
      const p = new FirstTarEntryPatch({ mode: 0o755, uid: 0, gid: 0 });
      const parts: Buffer[] = [];
      for (let i = 0; i < raw.length; i += step) parts.push(p.push(raw.subarray(i, i + step)));
      parts.push(p.end());
      const out = Buffer.concat(parts);
      expect(out.length).toBe(raw.length);
      const differing = [...out.keys()].filter((i) => out[i] !== raw[i]);
      // only the mode field and the checksum of the header of `.`
      expect(differing.length).toBeGreaterThan(0);
      expect(differing.every((i) => (i >= header + 100 && i < header + 108) || (i >= header + 148 && i < header + 156))).toBe(true);
      const file = join(dir, `out-${step}.tar`);
      writeFileSync(file, out);
      expect(execSync(`tar -tvf '${file}' --numeric-owner`).toString().split("\n")[0]).toMatch(/^drwxr-xr-x\*? 0\/0 /);
      const x = join(dir, `x-${step}`);
      mkdirSync(x);
      execSync(`tar -xf '${file}' --xattrs --xattrs-include='*' -C '${x}'`);
      expect(execSync(`stat -c %a '${x}'`).toString().trim()).toBe("755");
      expect(execSync(`getfattr --only-values -n user.top '${x}'`).toString()).toBe("v".repeat(600));
    }
  });
});
