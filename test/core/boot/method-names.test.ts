import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROVMETHOD_NAMES } from "../../../src/core/provmethod/names";
import { ROOT } from "../../helpers/sandbox";

/**
 * core/boot is the one per-node boot loop every provisioning method uses through the BootFlavor
 * it declares in its own folder (src/core/boot/flavor.ts, #13): what a method's nodes are set
 * to (chain.currstate) comes from the flavour, so no code in core/boot names a method.
 */
const DIR = join(ROOT, "src/core/boot");

/** The code without its comments: a comment may name a method as an example. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

describe("core/boot names no provisioning method", () => {
  test("no string in its code is a method's name or starts with one", () => {
    const literal = new RegExp(`["'\`](${PROVMETHOD_NAMES.join("|")})\\b`);
    const hits: string[] = [];
    for (const f of readdirSync(DIR).filter((n) => n.endsWith(".ts"))) {
      code(readFileSync(join(DIR, f), "utf8"))
        .split("\n")
        .forEach((line, i) => {
          if (literal.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });

  test("the check sees a method name where the loop had one", () => {
    const literal = new RegExp(`["'\`](${PROVMETHOD_NAMES.join("|")})\\b`);
    expect(literal.test(code('    state: "netboot",'))).toBe(true);
    expect(literal.test(code("  const currstate = `sysclone ` + osvers;"))).toBe(true);
    expect(literal.test(code('  const loader = a.netboot || "xnba"; // "netboot" here is a comment'))).toBe(false);
  });
});
