import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { DataError } from "../errors";
import type { Logger } from "../log";

/** find(1) -path patterns from linuximage.exlist, as packimage/liteimg read them. */
export interface ExcludeRules {
  exclude: string[];
  include: string[];
}

const MAX_INCLUDE_ROUNDS = 32;

/**
 * Parse the comma-separated exlist files: `#INCLUDE:<file>#` is replaced by that file's
 * non-blank lines (relative names are relative to the exlist's directory; an unreadable one
 * becomes a comment, as xCAT's `#INCLUDEBAD:...#`), then per line `\s*#.*` is stripped, blank
 * lines skipped, `+pattern` includes and `[-]pattern` excludes.
 *
 * xCAT silently ignores an exlist it cannot open and loops forever on a file that includes
 * itself; xcimg warns about the first and stops the second.
 */
export function readExlist(exlist: string | undefined, log: Logger): ExcludeRules {
  const rules: ExcludeRules = { exclude: [], include: [] };
  for (const file of (exlist ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      log.warn(`cannot read exlist ${file} (${(e as NodeJS.ErrnoException).code ?? e}); packing without it`);
      continue;
    }
    const idir = dirname(file);
    for (let round = 0; /#INCLUDE:[^#\n]+#/.test(text); round++) {
      if (round >= MAX_INCLUDE_ROUNDS) throw new DataError(`exlist ${file}: #INCLUDE: nested more than ${MAX_INCLUDE_ROUNDS} levels (does a file include itself?)`);
      text = text.replace(/#INCLUDE:([^#\n]+)#/g, (_m, name: string) => includeFile(name, idir));
    }
    for (const raw of text.split("\n")) {
      const line = raw.replace(/\s*#.*/, "");
      if (/^\s*$/.test(line)) continue;
      if (line.startsWith("+")) rules.include.push(line.slice(1));
      else rules.exclude.push(line.replace(/^-/, ""));
    }
  }
  return rules;
}

function includeFile(name: string, idir: string): string {
  const file = isAbsolute(name) ? name : join(idir, name);
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .map((l) => l.replace(/\s+$/, ""))
      .filter((l) => !/^\s*$/.test(l))
      .join("\n");
  } catch {
    return `#INCLUDEBAD:cannot open ${file}#`;
  }
}

/** find(1) arguments selecting what to pack: everything not excluded, then the includes. */
export function findArgs(rules: ExcludeRules): { exclude: string[]; include: string[] | null } {
  const exclude: string[] = [];
  for (const p of rules.exclude) exclude.push(...(exclude.length ? ["-a"] : []), "!", "-path", p);
  const include: string[] = [];
  for (const p of rules.include) include.push(...(include.length ? ["-o"] : []), "-path", p);
  return {
    exclude: exclude.length ? ["(", ...exclude, ")"] : [],
    include: include.length ? ["(", ...include, ")"] : null,
  };
}
