import { describe, expect, test } from "bun:test";
import { createdBy, methodsFilledBy } from "../../../src/core/capture/method-facts";

/** MethodFacts.capture as core/capture reads it (src/provmethods/<m>/facts.ts declare it). */
describe("capture facts", () => {
  test("which methods a capture type fills and which it creates", () => {
    expect(methodsFilledBy("diskless")).toEqual(["netboot", "statelite"]);
    expect(methodsFilledBy("sysclone")).toEqual(["sysclone"]);
    expect(createdBy("diskless")).toBe("netboot");
    expect(createdBy("sysclone")).toBe("sysclone");
    expect(() => createdBy("raw")).toThrow("internal: 0 provmethods declare capture -t raw creates, not one");
  });
});
