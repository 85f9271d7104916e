import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { globToRegExp, PathFilter, readExlists, STATELITE_EXCLUDES } from "../../../src/core/pack/exlist";

const dir = mkdtempSync(join(tmpdir(), "xcimg-exlist-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("find -path globs", () => {
  test("* and ? cross slashes, as find's fnmatch without FNM_PATHNAME", () => {
    expect(globToRegExp("./usr/share/doc*").test("./usr/share/doc/pkg/README")).toBe(true);
    expect(globToRegExp("./usr/share/doc*").test("./usr/share/docs")).toBe(true);
    expect(globToRegExp("./var/cache/*").test("./var/cache")).toBe(false);
    expect(globToRegExp("./var/cache/*").test("./var/cache/apt/x")).toBe(true);
    expect(globToRegExp("./a?c").test("./a/c")).toBe(true);
    expect(globToRegExp("./*.mo").test("./usr/share/locale/de/x.mo")).toBe(true);
  });
  test("classes, negation and escapes", () => {
    expect(globToRegExp("./lib/[ab]*").test("./lib/a1")).toBe(true);
    expect(globToRegExp("./lib/[!ab]*").test("./lib/a1")).toBe(false);
    expect(globToRegExp("./lib/[!ab]*").test("./lib/c1")).toBe(true);
    expect(globToRegExp("./x\\*").test("./x*")).toBe(true);
    expect(globToRegExp("./x\\*").test("./xy")).toBe(false);
    expect(globToRegExp("./a[b").test("./a[b")).toBe(true);
    expect(globToRegExp("./a.b").test("./axb")).toBe(false);
  });
});

describe("exlist files (xCAT packimage semantics)", () => {
  test("excludes, + includes, - prefix, comments, blank lines", () => {
    const f = join(dir, "basic.exlist");
    writeFileSync(f, "# comment\n./usr/share/doc*\n\n-./var/cache/*   # trailing comment\n+./usr/share/doc/pkg/copyright\n  ./tmp*  \n");
    const r = readExlists(f);
    expect(r.excludes).toEqual(["./usr/share/doc*", "./var/cache/*", "./tmp*"]);
    expect(r.includes).toEqual(["./usr/share/doc/pkg/copyright"]);
    expect(r.files).toEqual([f]);
  });

  test("#INCLUDE:file# is spliced in, recursively, relative to the top exlist's directory", () => {
    mkdirSync(join(dir, "inc", "sub"), { recursive: true });
    writeFileSync(join(dir, "inc", "common.exlist"), "./usr/share/man*\n#INCLUDE:sub/locale.exlist#\n\n");
    // nested relative names resolve against the top-level exlist's directory, as xCAT does
    writeFileSync(join(dir, "inc", "sub", "locale.exlist"), "./usr/share/locale*   \n+./usr/share/locale/en_US*\n");
    const top = join(dir, "inc", "compute.exlist");
    writeFileSync(top, "./boot*\n#INCLUDE:common.exlist#\n./var/log/*\n");
    const r = readExlists(`${top},${join(dir, "basic.exlist")}`);
    expect(r.excludes).toEqual(["./boot*", "./usr/share/man*", "./usr/share/locale*", "./var/log/*", "./usr/share/doc*", "./var/cache/*", "./tmp*"]);
    expect(r.includes).toEqual(["./usr/share/locale/en_US*", "./usr/share/doc/pkg/copyright"]);
    expect(r.files).toEqual([top, join(dir, "inc", "common.exlist"), join(dir, "inc", "sub", "locale.exlist"), join(dir, "basic.exlist")]);
  });

  test("a missing exlist or #INCLUDE file is an error, not an unfiltered image", () => {
    expect(() => readExlists(join(dir, "nope.exlist"))).toThrow("cannot open exlist file");
    const f = join(dir, "badinc.exlist");
    writeFileSync(f, "#INCLUDE:missing.exlist#\n");
    expect(() => readExlists(f)).toThrow(/cannot open #INCLUDE:missing.exlist#/);
  });

  test("an include cycle is an error instead of xCAT's endless loop", () => {
    writeFileSync(join(dir, "a.exlist"), "#INCLUDE:b.exlist#\n");
    writeFileSync(join(dir, "b.exlist"), "#INCLUDE:a.exlist#\n");
    expect(() => readExlists(join(dir, "a.exlist"))).toThrow(/#INCLUDE cycle/);
  });
});

describe("PathFilter", () => {
  const f = new PathFilter({ excludes: ["./usr/share/locale*", "./var/cache/*", ...STATELITE_EXCLUDES], includes: ["./usr/share/locale/en_US*"] });
  test("keeps what no exclude matches, and includes back what an include matches", () => {
    expect(f.keep(".")).toBe(true);
    expect(f.keep("./usr/share/locale/de/x.mo")).toBe(false);
    expect(f.keep("./usr/share/locale/en_US/x.mo")).toBe(true);
    expect(f.keep("./var/cache")).toBe(true);
    expect(f.keep("./var/cache/apt")).toBe(false);
    expect(f.keep("./.statelite/x")).toBe(false);
    expect(f.keep("./etc/init.d/statelite")).toBe(false);
  });
  test("prunes only subtrees no include can reach", () => {
    expect(f.pruneBelow("./var/cache/apt")).toBe(true);
    expect(f.pruneBelow("./usr/share/locale")).toBe(false); // en_US lies below
    expect(f.pruneBelow("./usr/share/locale/de")).toBe(true);
    expect(f.pruneBelow("./usr")).toBe(false);
  });
});
