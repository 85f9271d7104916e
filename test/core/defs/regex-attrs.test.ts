import { describe, expect, test } from "bun:test";
import { evalInteger, transRegexAttr } from "../../../src/core/defs/regex-attrs";
import { DataError } from "../../../src/core/errors";

describe("xCAT regular-expression table values", () => {
  test("plain values pass through", () => {
    expect(transRegexAttr("cn01", "10.0.0.1")).toBe("10.0.0.1");
    expect(transRegexAttr("cn01", "")).toBeNull();
  });

  test("/A/B/ is s/A/B/ on the node name", () => {
    expect(transRegexAttr("node12", "/node/bmc/")).toBe("bmc12");
    expect(transRegexAttr("node12-ib", "/-ib$//")).toBe("node12");
    expect(transRegexAttr("cn7", "/^cn(\\d+)$/10.1.0.$1/")).toBe("10.1.0.7");
  });

  test("|A|B| with arithmetic, as in xCAT's e1350 hosts.csv template", () => {
    const v = "|\\D+(\\d+).*$|172.20.(101+(($1-1)/84)).(($1-1)%84+1)|";
    expect(transRegexAttr("node1", v)).toBe("172.20.101.1");
    expect(transRegexAttr("node84", v)).toBe("172.20.101.84");
    expect(transRegexAttr("node85", v)).toBe("172.20.102.1");
    expect(transRegexAttr("node200", v)).toBe("172.20.103.32");
  });

  test("|A|B| without arithmetic is a plain substitution", () => {
    expect(transRegexAttr("rack2node3", "|rack(\\d+)node(\\d+)|r$1n$2|")).toBe("r2n3");
  });

  test("|B| generates A from the numbers in the name", () => {
    // two numbers → [\D0]*(\d+)[\D0]*(\d+).*$
    expect(transRegexAttr("f2n7", "|10.($1).0.($2+100)|")).toBe("10.2.0.107");
  });

  test("integer semantics: division truncates, % and unary minus", () => {
    expect(evalInteger("7/2", "n", "v")).toBe(3);
    expect(evalInteger("-7/2", "n", "v")).toBe(-3);
    expect(evalInteger("(10-1)%4+1", "n", "v")).toBe(2);
    expect(evalInteger("2*(3+4)", "n", "v")).toBe(14);
  });

  test("unsupported expressions are a clear error, not a wrong address", () => {
    expect(() => transRegexAttr("node1", "|\\D+(\\d+)|ipadd(10,0,0,1,$1)|")).toThrow(DataError);
    expect(() => evalInteger("1/0", "n", "v")).toThrow(DataError);
  });
});
