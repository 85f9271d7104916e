import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/sandbox";

/**
 * The arm64 binary, run under qemu-user with Debian's arm64 libc: it starts, reads a config,
 * creates its SQLite database and answers. Proves the cross build is not just an ELF header.
 */
const BIN = join(ROOT, "dist", "xcimg-linux-arm64");
const QEMU = "/usr/bin/qemu-aarch64";
const LIBS = "/usr/aarch64-linux-gnu";

describe("arm64 binary", () => {
  test("runs definitions end to end under qemu-aarch64", () => {
    expect(existsSync(BIN)).toBe(true);
    expect(existsSync(QEMU) && existsSync(LIBS)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "xcimg-arm64-"));
    try {
      const cfg = join(dir, "x.toml");
      writeFileSync(cfg, `installdir = "${dir}/install"\ntftpdir = "${dir}/tftp"\n[db]\npath = "${dir}/x.db"\n`);
      const run = (...args: string[]) => Bun.spawnSync([QEMU, "-L", LIBS, BIN, "--config", cfg, ...args], { stdout: "pipe", stderr: "pipe" });
      expect(run("image", "set", "arm-img", "provmethod=netboot", "osarch=aarch64").exitCode).toBe(0);
      const r = run("--json", "image", "show", "arm-img");
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout.toString())["arm-img"].osarch).toBe("aarch64");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
