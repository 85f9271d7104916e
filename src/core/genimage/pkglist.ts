import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { DataError, NotFoundError } from "../errors";

/**
 * xCAT's package list format (xCAT-server/share/xcat/netboot/imgutils/imgutils.pm,
 * get_package_names and include_file), read the same way:
 *   - one or more names per line (xCAT joins lines with ',' then splits, so "a,b" is two);
 *   - blank lines and '#' comments are skipped, except the directives below;
 *   - `#INCLUDE:<file>#` inserts another list; a relative name is relative to the file that
 *     includes it (xCAT resolves nested includes against the top file's directory; for the
 *     one-level includes sites write the two agree), recursively;
 *   - `#NEW_INSTALL_LIST#` starts a new transaction (xCAT's "pass"), installed after the one before;
 *   - `#ENV:K=V#` sets an environment variable for the package manager of that pass;
 *   - `-pkg` is removed before the otherpkgs are installed, `--pkg` after;
 *   - `@group` is a package group (dnf) or task (Debian: passed to apt as is, see debian.ts);
 *   - `dir/pkg` (otherpkglist) names the package pkg; the directory only told xCAT which
 *     otherpkgdir subdirectory holds it, and every repository is searched here.
 * An include that cannot be read is an error naming the file and the list that included it
 * (xCAT prints "Unable to open the following pkglist files" and stops too).
 */
export interface Pass {
  install: string[];
  preRemove: string[];
  postRemove: string[];
  env: Record<string, string>;
}

export interface PkgList {
  passes: Pass[];
  /** Every file read, in order: the top lists and their includes (for the inputs digest). */
  files: string[];
}

const MAX_DEPTH = 16;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Debian and RPM names, apt's name=version and name/suite, dnf's globs and name-version. */
const PACKAGE_NAME = /^@?[A-Za-z0-9][A-Za-z0-9+._:~*?=<>-]*$/;
const DIRECTIVE = /^\s*#(INCLUDE:[^#\n]+|NEW_INSTALL_LIST|ENV:[^#\n]+)#/;

const emptyPass = (): Pass => ({ install: [], preRemove: [], postRemove: [], env: {} });

/** Read a comma list of pkglist files (linuximage.pkglist / otherpkglist). */
export function readPkgLists(list: string, attr: string): PkgList {
  const out: PkgList = { passes: [emptyPass()], files: [] };
  for (const file of splitList(list)) addLines(out, expand(file, null, 0, out.files, attr));
  return tidy(out);
}

/** A list given as text (the built-in defaults); its includes are relative to `dir`. */
export function parsePkgListText(text: string, name: string, dir: string): PkgList {
  const out: PkgList = { passes: [emptyPass()], files: [name] };
  addLines(out, expandText(text, join(dir, name), 0, out.files, "pkglist"));
  return tidy(out);
}

function tidy(out: PkgList): PkgList {
  out.passes = out.passes.filter((p, i) => i === 0 || p.install.length || p.preRemove.length || p.postRemove.length);
  return out;
}

export function splitList(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function readList(file: string, from: string | null, attr: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    const where = from ? `#INCLUDE:# in ${from}` : `linuximage.${attr}`;
    throw new NotFoundError(`cannot read the package list ${file} (named by ${where}): ${code}`, {
      hint: from ? `fix the #INCLUDE:# line in ${from}, or create ${file}` : `create ${file}, or set ${attr} to an existing list with 'xcimg image set'`,
    });
  }
}

/** The list's meaningful lines with every #INCLUDE:# replaced by the included lines. */
function expand(file: string, from: string | null, depth: number, files: string[], attr: string): string[] {
  if (depth > MAX_DEPTH)
    throw new NotFoundError(`package list includes nest deeper than ${MAX_DEPTH} at ${file} (an include loop?)`, {
      hint: `check the #INCLUDE:# lines of ${from}`,
    });
  files.push(file);
  return expandText(readList(file, from, attr), file, depth, files, attr);
}

function expandText(text: string, file: string, depth: number, files: string[], attr: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    if (/^\s*$/.test(line)) continue;
    const d = DIRECTIVE.exec(line);
    if (/^\s*#/.test(line) && !d) continue;
    if (d?.[1]?.startsWith("INCLUDE:")) {
      const name = d[1].slice("INCLUDE:".length).trim();
      const path = isAbsolute(name) ? name : join(dirname(file), name);
      out.push(...expand(path, file, depth + 1, files, attr));
      continue;
    }
    out.push(line.trim());
  }
  return out;
}

function addLines(out: PkgList, lines: string[]): void {
  for (const line of lines) {
    let pass = out.passes.at(-1) as Pass;
    if (line.startsWith("#NEW_INSTALL_LIST#")) {
      out.passes.push(emptyPass());
      continue;
    }
    const env = /^#ENV:([^#\n]+)#/.exec(line);
    if (env) {
      const [k = "", ...v] = (env[1] as string).split("=");
      if (!ENV_NAME.test(k.trim()))
        throw new DataError(`'${line}' in a package list: '${k.trim()}' is not a variable name`, { hint: "write #ENV:NAME=value#" });
      pass.env[k.trim()] = v.join("=").trim();
      continue;
    }
    for (const word of line.split(/[\s,]+/).filter(Boolean)) {
      pass = out.passes.at(-1) as Pass;
      if (word.startsWith("--")) pass.postRemove.push(base(word.slice(2)));
      else if (word.startsWith("-")) pass.preRemove.push(base(word.slice(1)));
      else pass.install.push(base(word));
    }
  }
}

/** `xcat/xcat-core/xCATsn` names xCATsn; a group keeps its '@'. */
function base(word: string): string {
  const name = word.includes("/") ? (word.split("/").at(-1) as string) : word;
  // names reach apt-get and dnf as arguments: one that starts with '-' would be an option
  if (!PACKAGE_NAME.test(name))
    throw new DataError(`'${word}' in a package list is not a package name`, {
      hint: "package names start with a letter or digit (@group for groups); -name removes, --name removes after otherpkgs",
    });
  return name;
}
