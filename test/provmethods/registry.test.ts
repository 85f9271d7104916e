import { describe, expect, test } from "bun:test";
import { DataError, UsageError } from "../../src/core/errors";
import { PROVMETHOD_NAMES } from "../../src/core/provmethod/names";
import { loadProvMethod, methodsSupporting, operation, ownRefusal } from "../../src/provmethods/registry";
import { OPERATIONS } from "../../src/provmethods/types";

/** The registry (src/provmethods/registry.ts): what each method supports, and its errors for what it lacks. */
describe("provmethod registry", () => {
  test("every folder's method loads under its own name", async () => {
    for (const name of PROVMETHOD_NAMES) expect((await loadProvMethod(name)).name).toBe(name);
  });

  test("an unknown method is a data error listing the methods xcimg has", async () => {
    const e = await loadProvMethod("raw").catch((x) => x);
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe("unknown provisioning method 'raw'");
    expect(e.hint).toBe(`xcimg supports: ${PROVMETHOD_NAMES.join(", ")}`);
  });

  test("an operation a method lacks is a usage error naming every method that has it", async () => {
    for (const op of OPERATIONS) {
      const having = await methodsSupporting(op);
      expect(having.length).toBeGreaterThan(0);
      for (const name of PROVMETHOD_NAMES) {
        if (having.includes(name)) {
          expect(typeof (await operation(name, op, "x"))).toBe("function");
          continue;
        }
        const e = await operation(name, op, "image 'x'").catch((x) => x);
        expect(e).toBeInstanceOf(UsageError);
        expect(e.message).toBe(`image 'x' has provmethod '${name}', which does not support '${op}'`);
        expect(e.hint).toBe(`'${op}' works on images with provmethod ${having.join(" or ")}`);
      }
    }
  });

  test("which methods have which operation", async () => {
    const table = Object.fromEntries(await Promise.all(OPERATIONS.map(async (op) => [op, await methodsSupporting(op)])));
    expect(table).toEqual({
      capture: ["netboot", "sysclone"],
      pack: ["netboot"],
      lite: ["statelite"],
      boot: ["install", "netboot", "statelite"],
      clone: ["sysclone"],
      layout: ["sysclone"],
    });
  });

  test("lite refuses other methods' images in liteimg's words, an unset provmethod too", async () => {
    for (const pm of ["netboot", "install", "sysclone", undefined, "raw"]) {
      const e = await ownRefusal("lite", pm, "img1");
      expect(e).toBeInstanceOf(DataError);
      expect(e?.message).toBe("Please make sure that osimage.provmethod is set to statelite before calling this command.");
      expect(e?.hint).toBe("xcimg image set img1 provmethod=statelite");
    }
    expect(await ownRefusal("lite", "statelite", "img1")).toBeNull();
    // operations without own words leave the refusal to operation()
    expect(await ownRefusal("pack", "install", "img1")).toBeNull();
  });
});
