import { join } from "node:path";
import { builtinText, isBuiltin } from "./builtin";
import { type ReadBudget, readTemplateFile, type TemplateFile, type TemplateFilePolicy, TemplateFileRefused } from "./files";
import { isSecretVariable, refusalHint } from "./secrets";
import { type SourceLine, TemplateError, TemplatePolicyError } from "./types";

/**
 * Loading templates and expanding xCAT's include directives, keeping for every output line the
 * file and line it came from.
 *
 * xCAT semantics kept (Template.pm subvars/includefile):
 * - `#ENV:x#` is expanded before includes, so `#INCLUDE:#ENV:XCATROOT#/share/...#` works;
 * - a relative include path is relative to the directory of the TOP template ($idir), at any
 *   depth, and `$VAR`/`${VAR}` in it come from the environment;
 * - the included text replaces the directive in place, without its final newline;
 * - plain includes strip trailing blanks from non-comment lines; `_PKGLIST` wraps package lines
 *   in `<package>` (dropping `@pattern` and `-package` lines), `_PTRNLIST` keeps only `@` lines
 *   as `<pattern>`, `_RMPKGLIST` only `-` lines as `<package>`; nested `#INCLUDE:` inside a list
 *   keeps the list's mode; `#INCLUDE_NOP:#` text is copied with `$` and backquotes escaped and
 *   no directive expanded in it.
 * Deliberately stricter: an unreadable include is an error (xCAT writes `#INCLUDEBAD:...#` into
 * the kickstart and the install fails later on the node), and so is an include cycle; files are
 * read only where files.ts allows, and a line remembers when it comes from (or was included by)
 * a file that is not the site's own, so secrets.ts can refuse what such a line asks for.
 */
export type IncludeMode = "plain" | "pkglist" | "ptrnlist" | "rmpkglist" | "nop";

const MODE_OF: Record<string, IncludeMode> = {
  INCLUDE: "plain",
  INCLUDE_PKGLIST: "pkglist",
  INCLUDE_PTRNLIST: "ptrnlist",
  INCLUDE_RMPKGLIST: "rmpkglist",
  INCLUDE_NOP: "nop",
};
/**
 * An include path may itself hold #TABLE#/#XCATVAR#/#ENV# directives (xCAT's scripts include
 * `#INCLUDE:#TABLE:site:key=installdir:value#/postscripts/updateflag.awk#`): xCAT expands them on
 * its next pass and includes then; we expand them in the path first.
 */
const INCLUDE_RE =
  /#(INCLUDE|INCLUDE_PKGLIST|INCLUDE_PTRNLIST|INCLUDE_RMPKGLIST|INCLUDE_NOP):((?:[^#\n]|#(?:TABLE|TABLEBLANKOKAY|XCATVAR|ENV):[^#\n]*#)+)#|#INCLUDE_DEFAULT_(PKGLIST|PKGLIST_S|PTRNLIST_S|RMPKGLIST_S)#/g;
const HAS_INCLUDE = new RegExp(INCLUDE_RE.source);
/** #INCLUDE_DEFAULT_*# include the image's pkglist file(s) in these modes (Template.pm rewrites them to includes). */
const DEFAULT_MODE: Record<string, IncludeMode> = { PKGLIST: "plain", PKGLIST_S: "pkglist", PTRNLIST_S: "ptrnlist", RMPKGLIST_S: "rmpkglist" };
const MAX_DEPTH = 32;

export interface ExpandContext {
  node: string;
  /** Directory relative include paths resolve against (the top template's). */
  rootDir: string;
  /** #ENV:x# / $VAR lookups (variables first, then the environment). */
  lookupVar: (name: string) => string | undefined;
  /** linuximage.pkglist files, for #INCLUDE_DEFAULT_PKGLIST*#; none expands to nothing. */
  pkglists: string[];
  /** Set while expanding an include found inside a package list. */
  inList?: boolean;
  /** Expands the directives an include path may contain (see INCLUDE_RE). */
  expandPath?: (path: string, at: SourceLine) => string;
  policy: TemplateFilePolicy;
  budget: ReadBudget;
  /** xcimg's own variables (XCATMASTER, ...): never secret. */
  ownVars?: ReadonlySet<string>;
  /** Set while expanding a file included by one that is not the site's own: why. */
  untrusted?: string;
}

function readSource(path: string, cx: ExpandContext): TemplateFile {
  if (isBuiltin(path)) {
    const t = builtinText(path);
    if (t === undefined) throw Object.assign(new Error(`${path}: no such built-in file`), { code: "ENOENT" });
    return { text: t, real: path }; // compiled into xcimg: the shipped templates are the site's own
  }
  return readTemplateFile(path, cx.policy, cx.budget, cx.untrusted !== undefined);
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return code ?? String(e);
}

/** Expand `#ENV:x#` in one line; an unset variable is an error at that line. */
export function expandEnv(text: string, at: { file: string; line: number; untrusted?: string }, cx: ExpandContext): string {
  return text.replace(/#ENV:([^#]+)#/g, (_m, name: string) => {
    const bare = name.replace(/^\$/, "");
    if (at.untrusted && isSecretVariable(bare) && !cx.ownVars?.has(bare)) {
      throw new TemplatePolicyError(
        cx.node,
        at.file,
        at.line,
        `#ENV:${name}# refused: ${at.untrusted}, and only the site's own templates may read secret-looking variables`,
        refusalHint(at.file),
      );
    }
    const v = cx.lookupVar(bare);
    if (v === undefined)
      throw new TemplateError(cx.node, at.file, at.line, `#ENV:${name}# is not set`, `export ${name} before running xcimg, or set osimage.environvar`);
    return v;
  });
}

function resolvePath(name: string, at: { file: string; line: number }, cx: ExpandContext): string {
  const withVars = name.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => {
    const key = (a ?? b) as string;
    const v = cx.lookupVar(key);
    if (v === undefined) throw new TemplateError(cx.node, at.file, at.line, `include path ${name}: $${key} is not set`);
    return v;
  });
  return withVars.startsWith("/") ? withVars : join(cx.rootDir, withVars);
}

/** The lines of `path`, with list-mode filtering applied and includes expanded. */
export function loadLines(path: string, mode: IncludeMode, cx: ExpandContext, stack: string[] = [], from?: { file: string; line: number }): SourceLine[] {
  if (stack.includes(path)) {
    const at = from ?? { file: path, line: 0 };
    throw new TemplateError(cx.node, at.file, at.line, `include cycle: ${[...stack, path].join(" -> ")}`);
  }
  if (stack.length >= MAX_DEPTH) {
    const at = from ?? { file: path, line: 0 };
    throw new TemplateError(cx.node, at.file, at.line, `includes nested more than ${MAX_DEPTH} deep`);
  }
  let file: TemplateFile;
  try {
    file = readSource(path, cx);
  } catch (e) {
    const at = from ?? { file: path, line: 0 };
    if (e instanceof TemplateFileRefused) throw new TemplatePolicyError(cx.node, at.file, at.line, `refused to read ${path}: ${e.message}`, e.hint);
    if (!from) throw new TemplateError(cx.node, path, 0, `cannot read template: ${reason(e)}`);
    throw new TemplateError(cx.node, from.file, from.line, `cannot read included file ${path}: ${reason(e)}`);
  }
  const untrusted = cx.untrusted ?? file.untrusted;
  if (untrusted !== cx.untrusted) cx = { ...cx, untrusted };
  const raw = file.text.split("\n");
  if (raw.length > 1 && raw[raw.length - 1] === "") raw.pop(); // the file's final newline

  const out: SourceLine[] = [];
  const chain = [...stack, path];
  raw.forEach((orig, i) => {
    const at = { file: path, line: i + 1, untrusted };
    if (mode === "nop") {
      out.push({ ...at, text: orig.replace(/\$/g, "\\$").replace(/`/g, "\\`"), raw: true });
      return;
    }
    const filtered = filterListLine(expandEnv(orig, at, cx), mode);
    if (filtered === null) return;
    const expanded = expandIncludesInLine(filtered, at, cx, chain, mode !== "plain");
    // in package lists, blank lines (and lines whose include added nothing) are dropped
    out.push(...(mode === "plain" ? expanded : expanded.filter((l) => l.text.trim() !== "")));
  });
  // an empty pattern list still needs its element (includefile()), but only once, at the top
  if (mode === "ptrnlist" && !cx.inList && !out.some((l) => l.text.includes("<pattern>")))
    return [{ file: path, line: 1, untrusted, text: "<pattern></pattern>" }];
  return out;
}

/** includefile()'s per-line rules for each list mode; null drops the line. */
function filterListLine(line: string, mode: IncludeMode): string | null {
  const isCommentOrBlank = /^\s*#/.test(line) || /^\s*$/.test(line);
  if (mode !== "plain" && mode !== "nop") {
    const nestedMode = mode === "pkglist" ? "INCLUDE_PKGLIST" : mode === "ptrnlist" ? "INCLUDE_PTRNLIST" : "INCLUDE_RMPKGLIST";
    line = line.replace("#INCLUDE:", `#${nestedMode}:`);
    // Deliberate difference from xCAT: comments and blank lines of a list are not copied into
    // the AutoYaST XML (xCAT emits them as stray text between <package> elements).
    if (isCommentOrBlank) return HAS_INCLUDE.test(line) ? line : null;
  }
  if (isCommentOrBlank) return line;
  const t = line.replace(/\s+$/, "");
  switch (mode) {
    case "plain":
      return t;
    case "pkglist":
      return /^\s*[@-]/.test(t) ? null : `<package>${t}</package>`;
    case "ptrnlist": {
      const m = /^\s*@\s*(.*)$/.exec(t);
      return m ? `<pattern>${m[1]}</pattern>` : null;
    }
    case "rmpkglist": {
      const m = /^\s*-\s*(.*)$/.exec(t);
      return m ? `<package>${m[1]}</package>` : null;
    }
    default:
      return t;
  }
}

function expandIncludesInLine(
  text: string,
  at: { file: string; line: number; untrusted?: string },
  cx: ExpandContext,
  chain: string[],
  inList: boolean,
): SourceLine[] {
  if (!HAS_INCLUDE.test(text)) return [{ ...at, text }];
  let result: SourceLine[] = [{ ...at, text: "" }];
  let last = 0;
  for (const m of text.matchAll(INCLUDE_RE)) {
    const before = text.slice(last, m.index);
    last = (m.index ?? 0) + m[0].length;
    let included: SourceLine[];
    if (m[3]) {
      const mode = DEFAULT_MODE[m[3]] as IncludeMode;
      included = cx.pkglists.flatMap((f) => loadLines(f, mode, { ...cx, inList }, chain, at));
    } else {
      const mode = MODE_OF[m[1] as string] as IncludeMode;
      const raw = (m[2] as string).trim();
      const path = raw.includes("#") && cx.expandPath ? cx.expandPath(raw, { ...at, text: raw }) : raw;
      included = loadLines(resolvePath(path, at, cx), mode, { ...cx, inList }, chain, at);
    }
    const tail = result[result.length - 1] as SourceLine;
    tail.text += before;
    if (included.length === 0) continue;
    const [first, ...rest] = included as [SourceLine, ...SourceLine[]];
    tail.text += first.text;
    if (first.raw) tail.raw = true;
    // the joined line holds the included file's text: it gets that file's (lesser) trust
    if (first.untrusted && !tail.untrusted) tail.untrusted = first.untrusted;
    result = [...result, ...rest.map((l) => ({ ...l }))];
  }
  (result[result.length - 1] as SourceLine).text += text.slice(last);
  return result;
}
