import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { DataError, NotFoundError } from "../errors";

/**
 * xCAT's exlist files (linuximage.exlist, a comma-separated list), as packimage reads them:
 * `#INCLUDE:file#` is replaced by that file's lines (relative names resolved against the
 * directory of the top-level exlist, recursively, as xCAT does), then per line everything
 * from `#` on is a comment, `+./path*` adds an include pattern and any other line (an optional
 * leading `-` stripped) an exclude pattern. Patterns are find(1) `-path` globs matched against
 * `./relative/path`, where `*` also matches `/`.
 *
 * Differences from xCAT, on purpose: a missing exlist or #INCLUDE file is an error (xCAT
 * silently packs everything, shipping what the admin meant to leave out), include cycles are
 * an error (xCAT loops forever), and surrounding blanks on a line are ignored.
 */
export interface ExlistRules {
  excludes: string[];
  includes: string[];
  /** The files read, in order, for the log. */
  files: string[];
}

/** Always left out: statelite state that must not leak into a stateless image (xCAT PR #3919). */
export const STATELITE_EXCLUDES = ["./etc/init.d/statelite", "./etc/rc.sysinit.backup", "./.statelite*", "./.default*", "./.statebackup*"];

const INCLUDE = /#INCLUDE:([^#\n]+)#/;
const MAX_INCLUDE_DEPTH = 32;

export function readExlists(exlistAttr: string | undefined, read: (f: string) => string = (f) => readFileSync(f, "latin1")): ExlistRules {
  const rules: ExlistRules = { excludes: [], includes: [], files: [] };
  for (const file of (exlistAttr ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    rules.files.push(file);
    const text = expandIncludes(readList(file, read, "exlist"), dirname(file), read, rules.files, [file]);
    parseLines(text, rules);
  }
  return rules;
}

function readList(file: string, read: (f: string) => string, what: string): string {
  try {
    return read(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new NotFoundError(`cannot open ${what} file ${file}`, { hint: "fix linuximage.exlist with 'xcimg image set <image> exlist=...'" });
    throw new DataError(`cannot read ${what} file ${file}: ${(e as Error).message}`);
  }
}

function expandIncludes(text: string, baseDir: string, read: (f: string) => string, seen: string[], stack: string[]): string {
  if (stack.length > MAX_INCLUDE_DEPTH) throw new DataError(`#INCLUDE nesting deeper than ${MAX_INCLUDE_DEPTH} in ${stack[0]}`);
  let out = "";
  let rest = text;
  for (let m = INCLUDE.exec(rest); m; m = INCLUDE.exec(rest)) {
    const name = (m[1] as string).trim();
    const file = isAbsolute(name) ? name : join(baseDir, name);
    if (stack.includes(file)) throw new DataError(`#INCLUDE cycle: ${[...stack, file].join(" -> ")}`);
    const body = readList(file, read, `#INCLUDE:${name}# (from ${stack.at(-1)})`);
    seen.push(file);
    // xCAT drops blank lines and trailing blanks of included files, then splices them in
    const lines = body
      .split("\n")
      .map((l) => l.replace(/\s+$/, ""))
      .filter((l) => l.trim() !== "");
    out += rest.slice(0, m.index) + expandIncludes(lines.join("\n"), baseDir, read, seen, [...stack, file]);
    rest = rest.slice(m.index + m[0].length);
  }
  return out + rest;
}

function parseLines(text: string, rules: ExlistRules): void {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s*#.*$/, "").trim();
    if (line === "") continue;
    if (line.startsWith("+")) rules.includes.push(line.slice(1));
    else rules.excludes.push(line.startsWith("-") ? line.slice(1) : line);
  }
}

/**
 * fnmatch(3) without FNM_PATHNAME or FNM_PERIOD, as find's -path uses it: `*` and `?` match
 * any byte including `/`, `[...]`/`[!...]` are byte classes, `\x` is a literal x. Patterns
 * and paths are compared as latin1 strings, i.e. byte for byte.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "\\" && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === "[") {
      const end = classEnd(pattern, i);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        let negate = false;
        if (body.startsWith("!") || body.startsWith("^")) {
          negate = true;
          body = body.slice(1);
        }
        re += `[${negate ? "^" : ""}${body.replace(/\\/g, "\\\\").replace(/\]/g, "\\]").replace(/\[/g, "\\[")}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`);
}

/** Index of the `]` closing the class opened at `start`, or -1 when it is a literal `[`. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === "!" || p[i] === "^") i++;
  if (p[i] === "]") i++; // a leading ] is a member
  for (; i < p.length; i++) if (p[i] === "]") return i;
  return -1;
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** The compiled rules the tree walk asks: is `./path` left out, is it added back? */
export class PathFilter {
  private readonly ex: RegExp[];
  private readonly inc: RegExp[];
  /** Literal heads of include patterns (up to the first wildcard), for pruning decisions. */
  private readonly incHeads: string[];
  /** Excludes ending in `*` match every descendant of a directory they match. */
  private readonly exStar: boolean[];

  constructor(rules: { excludes: readonly string[]; includes: readonly string[] }) {
    this.ex = rules.excludes.map(globToRegExp);
    this.exStar = rules.excludes.map((p) => p.endsWith("*") && !p.endsWith("\\*"));
    this.inc = rules.includes.map(globToRegExp);
    this.incHeads = rules.includes.map((p) => p.slice(0, firstWildcard(p)));
  }

  get isEmpty(): boolean {
    return this.ex.length === 0 && this.inc.length === 0;
  }

  /** Whether `./path` goes into the archive: not excluded, or explicitly included. */
  keep(path: string): boolean {
    if (!this.ex.some((r) => r.test(path))) return true;
    return this.inc.some((r) => r.test(path));
  }

  /**
   * True when nothing under directory `./dir` can be kept, so the walk may skip reading it:
   * an exclude ending in `*` matches it (hence every descendant) and no include pattern could
   * reach below it.
   */
  pruneBelow(dir: string): boolean {
    let covered = false;
    for (let i = 0; i < this.ex.length; i++) {
      if (this.exStar[i] && (this.ex[i] as RegExp).test(dir)) {
        covered = true;
        break;
      }
    }
    if (!covered) return false;
    const below = `${dir}/`;
    return !this.incHeads.some((h) => h.startsWith(below) || below.startsWith(h));
  }
}

function firstWildcard(p: string): number {
  const m = /[*?[\\]/.exec(p);
  return m ? m.index : p.length;
}
