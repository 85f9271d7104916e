import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { PROVMETHOD_NAMES } from "../../src/core/provmethod/names";

/**
 * Issue #13's rule, checked: what a provmethod is lives in src/provmethods/<method>/ and
 * nowhere else. Core and the commands ask the method's facts (src/core/provmethod/facts.ts)
 * or the registry (src/provmethods/registry.ts) instead of naming a method, and core never
 * imports src/provmethods (docs/architecture.md).
 */
const ROOT = resolve(import.meta.dir, "../..");
const SRC = join(ROOT, "src");
const PROVMETHODS = join(SRC, "provmethods");

/**
 * Strings spelt like a method that are not one. Each entry names a file, the line it allows
 * (a pattern matched against the trimmed line, so a new method-name branch in the same file
 * is still caught) and why.
 * An entry that no longer matches anything fails the test: keep the list exact.
 */
const NOT_METHOD_NAMES: { file: string; line: RegExp; why: string }[] = [
  { file: "src/core/provmethod/names.ts", line: /^export const PROVMETHOD_NAMES = /, why: "the list of methods itself" },
  { file: "src/core/tables/cell-checks.ts", line: /^const NODE_KEYED = /, why: "the statelite table (node-keyed)" },
  { file: "src/core/template/tables.ts", line: /^const NODE_KEYED = /, why: "the statelite table (node-keyed)" },
  { file: "src/core/defs/node.ts", line: /deleteRows\(db, "statelite", /, why: "the statelite table's rows of a removed node" },
  { file: "src/core/db/migrations.ts", line: /^"statelite",$/, why: "the statelite table in the schema's table list" },
  { file: "src/core/db/tables.ts", line: /^"netboot",$/, why: "the noderes.netboot column (the boot loader)" },
  {
    file: "src/core/image/xcat-dirs.ts",
    line: /^export const XCAT_DIR = /,
    why: "xCAT's directory names <installdir>/netboot/, custom/<netboot|install>/ (kinds of image, not methods)",
  },
  { file: "src/core/capture/plan.ts", line: /^export const CAPTURE_TYPES = /, why: "xCAT imgcapture's -t values (-t sysclone is a capture type)" },
];

/** Quoted strings that are exactly a method name, in code (comment lines are prose). */
function methodLiterals(text: string): { line: number; text: string; name: string }[] {
  const re = new RegExp(`(["'\`])(${PROVMETHOD_NAMES.join("|")})\\1`, "g");
  const out: { line: number; text: string; name: string }[] = [];
  text.split("\n").forEach((l, i) => {
    const t = l.trim();
    if (t.startsWith("//") || t.startsWith("*") || t.startsWith("/*")) return;
    for (const m of l.matchAll(re)) out.push({ line: i + 1, text: t, name: m[2] ?? "" });
  });
  return out;
}

/** The module specifiers a file imports (static, type-only, dynamic, re-exports). */
function importSpecifiers(text: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']([^"']+)["']/g;
  return [...text.matchAll(re)].map((m) => m[1] ?? "");
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

const inMethodFolder = (rel: string) => PROVMETHOD_NAMES.some((m) => rel.startsWith(`src/provmethods/${m}/`));

describe("provmethod names stay in src/provmethods/<method>/", () => {
  const files = sourceFiles(SRC).map((abs) => ({ abs, rel: relative(ROOT, abs) }));

  test("no file outside a method's folder names a method as a string", () => {
    const used = new Set<(typeof NOT_METHOD_NAMES)[number]>();
    const found: string[] = [];
    for (const { abs, rel } of files) {
      if (inMethodFolder(rel)) continue;
      for (const hit of methodLiterals(readFileSync(abs, "utf8"))) {
        const ok = NOT_METHOD_NAMES.find((a) => a.file === rel && a.line.test(hit.text));
        if (ok) used.add(ok);
        else found.push(`${rel}:${hit.line}: '${hit.name}' in: ${hit.text}`);
      }
    }
    // ask the method's facts (src/core/provmethod/facts.ts) or the registry instead
    expect(found).toEqual([]);
    expect(NOT_METHOD_NAMES.filter((a) => !used.has(a)).map((a) => `${a.file}: ${a.line}`)).toEqual([]);
  });

  test("no file under src/core imports src/provmethods", () => {
    const found: string[] = [];
    for (const { abs, rel } of files) {
      if (!rel.startsWith("src/core/")) continue;
      for (const spec of importSpecifiers(readFileSync(abs, "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = resolve(dirname(abs), spec);
        if (target === PROVMETHODS || target.startsWith(`${PROVMETHODS}/`)) found.push(`${rel}: ${spec}`);
      }
    }
    // core declares what it needs (a MethodFacts section) and the method fills it in its facts.ts
    expect(found).toEqual([]);
  });

  test("the checks catch what they are for", () => {
    expect(methodLiterals(`if (img.attrs.provmethod === "sysclone") x();\n// "netboot" in prose\nconst k = 'install';`)).toEqual([
      { line: 1, text: `if (img.attrs.provmethod === "sysclone") x();`, name: "sysclone" },
      { line: 3, text: "const k = 'install';", name: "install" },
    ]);
    expect(methodLiterals("const dir = `rocky9-x86_64-netboot-compute`; const s = `statelite`;")).toEqual([
      { line: 1, text: "const dir = `rocky9-x86_64-netboot-compute`; const s = `statelite`;", name: "statelite" },
    ]);
    expect(
      importSpecifiers(
        `import { a } from "../../provmethods/sysclone/paths";\nimport type { B } from '../x';\nconst m = await import("./y");\nexport { c } from "./z";\nimport "../side";`,
      ),
    ).toEqual(["../../provmethods/sysclone/paths", "../x", "./y", "./z", "../side"]);
  });
});
