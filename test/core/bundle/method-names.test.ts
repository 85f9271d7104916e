import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROVMETHOD_NAMES } from "../../../src/core/provmethod/names";

/**
 * core/bundle asks a provmethod's bundle facts (src/core/bundle/method.ts) instead of
 * branching on its name (issue #13): no string literal in it is a provmethod's name. Comments
 * may name them; code may not.
 */
const DIR = join(import.meta.dir, "../../../src/core/bundle");

describe("core/bundle names no provmethod", () => {
  test("no string literal of src/core/bundle is a provmethod name", () => {
    const names = PROVMETHOD_NAMES.join("|");
    const literal = new RegExp(`(["'\`])(${names})\\1`);
    const hits: string[] = [];
    for (const f of readdirSync(DIR).filter((x) => x.endsWith(".ts"))) {
      readFileSync(join(DIR, f), "utf8")
        .split("\n")
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
          if (literal.test(code)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });

  test("the check sees a name where one is written", () => {
    const literal = new RegExp(`(["'\`])(${PROVMETHOD_NAMES.join("|")})\\1`);
    expect(literal.test('if (pm === "sysclone")')).toBe(true);
    expect(literal.test("const x = `netboot`;")).toBe(true);
    expect(literal.test('join(installdir, "netboot-x")')).toBe(false);
  });
});
