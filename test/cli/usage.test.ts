import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { BIN, Sandbox } from "../helpers/sandbox";

/** Argument errors end with the command's Usage: line, as xCAT's tests expect (`check:output=~Usage`). */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-usage");
});
afterAll(() => sb.cleanup());

describe("usage", () => {
  test("an argument error: the Error line, then the command's Usage summary, exit 64", async () => {
    for (const [argv, usage] of [
      [["node", "set"], "Usage: xcimg node set [OPTIONS] [NODERANGE] [ASSIGNMENTS]"],
      [["table", "dump", "-x"], "Usage: xcimg table dump [OPTIONS] [TABLE]"],
      [["pack"], "Usage: xcimg pack [OPTIONS] <OSIMAGE>"],
      [["frobnicate"], "Usage: xcimg capture|genimage|pack|"],
    ] as const) {
      const r = await sb.bin([...argv]);
      expect(r.code).toBe(64);
      const lines = r.stderr.split("\n");
      expect(lines[0]).toMatch(/^Error: /);
      expect(r.stderr).toContain(usage);
      expect(r.stderr.indexOf("Usage:")).toBeGreaterThan(r.stderr.indexOf("Error:"));
    }
  });

  test("-h, -? and --help print help (exit 0); -V is verbose", async () => {
    for (const flag of ["-h", "-?", "--help"]) {
      const r = await sb.bin(["table", "dump", flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE xcimg table dump");
    }
    // verbose shows an error's cause
    const quiet = await sb.bin(["table", "dump", "-f", "/nonexistent/dir/x.csv", "site"]);
    const loud = await sb.bin(["table", "dump", "-V", "-f", "/nonexistent/dir/x.csv", "site"]);
    expect(quiet.code).toBe(66);
    expect(loud.code).toBe(66);
    expect(loud.stderr).toContain("cause:");
    expect(quiet.stderr).not.toContain("cause:");
  });

  test("a data error is not a usage error: no Usage line", async () => {
    const r = await sb.bin(["image", "show", "nosuch"]);
    expect(r.code).toBe(66);
    expect(r.stderr).not.toContain("Usage:");
  });
});
