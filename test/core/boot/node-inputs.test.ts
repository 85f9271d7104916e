import { describe, expect, test } from "bun:test";
import { canonical, inputsDigest, nodeDigest } from "../../../src/core/boot/node-inputs";

/** The run-level digest of `xcimg boot`'s record (src/core/boot/node-inputs.ts): equal exactly when the values are. */
describe("canonical texts and digests of boot inputs", () => {
  test("key order does not matter; every value, Map entry, Set member and byte does", () => {
    expect(canonical({ a: "1", b: { c: [1, 2] } })).toBe(canonical({ b: { c: [1, 2] }, a: "1" }));
    expect(
      canonical(
        new Map([
          ["x", 1],
          ["y", 2],
        ]),
      ),
    ).toBe(
      canonical(
        new Map([
          ["y", 2],
          ["x", 1],
        ]),
      ),
    );
    expect(canonical(new Map([["x", 1]]))).not.toBe(canonical(new Map([["x", 2]])));
    // an image's directory modes are a Map (image-facts.ts): JSON would have made it {}
    expect(canonical(new Map([["etc", { mode: 0o755 }]]))).not.toBe(canonical(new Map()));
    expect(canonical(new Set(["a", "b"]))).toBe(canonical(new Set(["b", "a"])));
    expect(canonical(Buffer.from("abc"))).not.toBe(canonical(Buffer.from("abd")));
    expect(canonical(undefined)).not.toBe(canonical(null));
    expect(canonical("1")).not.toBe(canonical(1));
    expect(inputsDigest("a", "b")).not.toBe(inputsDigest("ab"));
    expect(inputsDigest(["a\n", "b"])).not.toBe(inputsDigest(["a", "\nb"]));
  });

  test("a function is refused rather than left out of the digest", () => {
    expect(() => canonical({ present: () => true })).toThrow(/cannot be part/);
  });

  test("the per-node digest changes with the run, the node and each part", () => {
    const d = nodeDigest("run", "cn1", [{ ip: "10.0.0.1" }, { kcmdline: "quiet" }]);
    expect(nodeDigest("run", "cn1", [{ ip: "10.0.0.1" }, { kcmdline: "quiet" }])).toBe(d);
    expect(nodeDigest("run2", "cn1", [{ ip: "10.0.0.1" }, { kcmdline: "quiet" }])).not.toBe(d);
    expect(nodeDigest("run", "cn2", [{ ip: "10.0.0.1" }, { kcmdline: "quiet" }])).not.toBe(d);
    expect(nodeDigest("run", "cn1", [{ ip: "10.0.0.2" }, { kcmdline: "quiet" }])).not.toBe(d);
    expect(nodeDigest("run", "cn1", [{ ip: "10.0.0.1" }, undefined])).not.toBe(d);
  });
});
