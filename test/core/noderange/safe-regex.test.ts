import { describe, expect, test } from "bun:test";
import { transRegexAttr } from "../../../src/core/defs/regex-attrs";
import { DataError } from "../../../src/core/errors";
import { backtrackProblem } from "../../../src/core/noderange/safe-regex";

/** safe-regex.ts: what is refused before it runs, and that xCAT's own expressions pass. */
describe("backtrackProblem", () => {
  const accepted = [
    "\\D+(\\d+).*$",
    "^cn0[1-4]$",
    "[\\D0]*(\\d+)[\\D0]*(\\d+).*$",
    "^rack(\\d+)n(\\d+)$",
    "(ab)?c+",
    "^(cn|gpu)\\d+$",
    "a{2}b+",
    "\\(a+\\)+",
    "[(a+)+]",
    "x{",
    "(a){1}b*",
  ];
  for (const src of accepted) test(`accepts ${src}`, () => expect(backtrackProblem(src)).toBeNull());
  const refused: [string, RegExp][] = [
    ["^(a+)+$", /repeated group/],
    ["(a*)*b", /repeated group/],
    ["(a|aa)+$", /repeated group/],
    ["(.*a){25}", /repeated group/],
    ["((a+))+", /repeated group/],
    ["(?:\\w+\\s?)*$", /repeated group/],
    ["(a+){2,}", /repeated group/],
    ["(a)\\1", /backreferences/],
    ["(?<x>a)\\k<x>", /backreferences/],
    ["a(?=b)", /lookahead/],
    ["(?<!a)b", /lookahead/],
  ];
  for (const [src, why] of refused) test(`refuses ${src}`, () => expect(backtrackProblem(src)).toMatch(why));
});

describe("table values", () => {
  test("an exponential |regex| value is a DataError naming it, at once", () => {
    const t0 = performance.now();
    expect(() => transRegexAttr("a".repeat(40), "|^(a+)+$|x|")).toThrow(DataError);
    expect(performance.now() - t0).toBeLessThan(100);
  });
  test("xCAT's rack/node arithmetic still works", () => {
    expect(transRegexAttr("r2n7", "|\\D+(\\d+)\\D+(\\d+)$|10.0.($1+0).($2+100)|")).toBe("10.0.2.107");
  });
});
