import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args";
import { UsageError } from "../../src/core/errors";

const spec = {
  node: { type: "positional", description: "n" },
  type: { type: "enum", alias: "t", options: ["diskless", "sysclone"], required: true, description: "t" },
  exclude: { type: "string", alias: "x", multiple: true, description: "x" },
  port: { type: "string", description: "p" },
  acceptNewHostkey: { type: "boolean", description: "a" },
} as const;

describe("strict argument parsing", () => {
  test("positionals, aliases, repeatable options, kebab-case flags, =values", () => {
    const a = parseArgs(
      ["golden", "-t", "diskless", "-x", "./a/*", "--exclude=./b/*", "-x./c", "--accept-new-hostkey", "--port", "2222"],
      spec,
      "xcimg capture",
    );
    expect(a).toEqual({ node: "golden", type: "diskless", exclude: ["./a/*", "./b/*", "./c"], port: "2222", acceptNewHostkey: true });
  });

  test("defaults: repeatable is [], boolean false, optional string undefined", () => {
    const a = parseArgs(["n", "-t", "sysclone"], spec, "x");
    expect(a.exclude).toEqual([]);
    expect(a.acceptNewHostkey).toBe(false);
    expect(a.port).toBeUndefined();
  });

  test("-- ends options", () => {
    const a = parseArgs(["-t", "diskless", "--", "-weird-node"], spec, "x");
    expect(a.node).toBe("-weird-node");
  });

  const errors: [string[], RegExp][] = [
    [["n", "-t", "diskless", "--bogus"], /unknown option '--bogus' for 'x'/],
    [["n", "-t", "diskless", "-Z"], /unknown option '-Z'/],
    [["n", "-t"], /option '-t' needs a value/],
    [["n", "-t", "cloud"], /invalid value 'cloud' for '-t': expected one of diskless, sysclone/],
    [["n"], /missing required option --type/],
    [["-t", "diskless"], /missing NODE/],
    [["n", "m", "-t", "diskless"], /unexpected argument 'm'/],
    [["n", "-t", "diskless", "--port", "1", "--port", "2"], /given more than once/],
    [["n", "-t", "diskless", "--accept-new-hostkey=yes"], /takes no value/],
  ];
  for (const [argv, msg] of errors) {
    test(`usage error: ${argv.join(" ")}`, () => {
      expect(() => parseArgs(argv, spec, "x")).toThrow(msg);
      expect(() => parseArgs(argv, spec, "x")).toThrow(UsageError);
    });
  }

  test("variadic positional collects the rest", () => {
    const s = { name: { type: "positional", description: "" }, rest: { type: "positional", variadic: true, required: true, description: "" } } as const;
    expect(parseArgs(["img", "a=1", "b=2"], s, "x")).toEqual({ name: "img", rest: ["a=1", "b=2"] });
    expect(() => parseArgs(["img"], s, "x")).toThrow(/missing REST/);
  });
});
