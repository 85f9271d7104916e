import { describe, expect, test } from "bun:test";
import { inlineParts } from "../../../src/core/script/inline";

describe("node scripts assembled from parts", () => {
  test("each source line becomes its part, without the part's shell directive", () => {
    const script = '#!/bin/sh\nx\n. "$XC_SRC/a.sh"\ny\n. "$XC_SRC/b-c.sh"\n';
    const parts = { "a.sh": "# shellcheck shell=sh disable=SC2034\na() { :; }\n", "b-c.sh": "b() { :; }\n" };
    expect(inlineParts(script, parts)).toBe("#!/bin/sh\nx\na() { :; }\ny\nb() { :; }\n");
  });

  test("a part sourced but not given, given but not sourced, or sourced twice is a build error", () => {
    expect(() => inlineParts('. "$XC_SRC/a.sh"\n', { "a.sh": "a\n", "b.sh": "b\n" })).toThrow("does not source b.sh");
    expect(() => inlineParts('. "$XC_SRC/a.sh"\n. "$XC_SRC/c.sh"\n', { "a.sh": "a\n" })).toThrow("sources c.sh");
    expect(() => inlineParts('. "$XC_SRC/a.sh"\n. "$XC_SRC/a.sh"\n', { "a.sh": "a\n" })).toThrow("sources a.sh");
  });

  test("other lines that look alike are left alone", () => {
    const script = '. "$XC_DIR/plan.env"\n  . "$XC_SRC/a.sh"\n';
    expect(inlineParts(script, {})).toBe(script);
  });
});
