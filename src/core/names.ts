import { DataError, UsageError } from "./errors";

/**
 * Names that end up in paths (rootimgdir, tftpdir/xcat/osimage/<image>, xnba/nodes/<node>) and
 * in kernel command lines. They must never carry a slash, a leading dot or dash, whitespace or
 * shell metacharacters, so no name can escape a directory or reach a shell.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const NODE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_NAME = 128;
const MAX_NODE = 253;

/** Why `value` is not a valid name of this kind, or null when it is. */
function nameProblem(kind: string, value: string, re: RegExp, max: number): string | null {
  if (value === "") return `${kind} name is empty`;
  if (value.length > max) return `${kind} name '${printable(value.slice(0, 40))}...' is longer than ${max} characters`;
  if (!re.test(value) || value.includes("..")) return `invalid ${kind} name '${printable(value)}'`;
  return null;
}

function check(kind: string, value: string, re: RegExp, max: number): string {
  const problem = nameProblem(kind, value, re, max);
  if (problem) throw new UsageError(problem, { hint: nameHint(re) });
  return value;
}

const nameHint = (re: RegExp) => `use letters, digits and . _ - ${re === NAME ? "+ " : ""}(starting with a letter or digit, no '..')`;

export const validateImageName = (v: string) => check("image", v, NAME, MAX_NAME);
export const validateNodeName = (v: string) => check("node", v, NODE, MAX_NODE);
export const validateGroupName = (v: string) => check("group", v, NODE, MAX_NODE);
/** profile, osvers, osarch: path components under installdir. */
export const validatePathComponent = (kind: string, v: string) => check(kind, v, NAME, MAX_NAME);

export const nodeNameProblem = (v: string) => nameProblem("node", v, NODE, MAX_NODE);
export const groupNameProblem = (v: string) => nameProblem("group", v, NODE, MAX_NODE);
export const imageNameProblem = (v: string) => nameProblem("image", v, NAME, MAX_NAME);
export const pathComponentProblem = (kind: string, v: string) => nameProblem(kind, v, NAME, MAX_NAME);

/**
 * The same rules where a name read from the database is about to become a file name. The
 * database may have been filled by `table restore`, a bundle or a hand-edited SQLite file, so
 * the writers check again instead of trusting that `node set` did: bad data, exit 65.
 */
export function safeNodeFileName(node: string): string {
  const problem = nodeNameProblem(node);
  if (problem)
    throw new DataError(`${problem}: it would become a file name outside its directory`, {
      hint: `fix or remove the node's rows ('xcimg table dump nodelist'); ${nameHint(NODE)}`,
    });
  return node;
}

export function safeImageFileName(image: string): string {
  const problem = imageNameProblem(image);
  if (problem) throw new DataError(`${problem}: it would become a directory name outside its directory`, { hint: `fix the osimage table; ${nameHint(NAME)}` });
  return image;
}

export function safePathComponent(kind: string, v: string): string {
  const problem = pathComponentProblem(kind, v);
  if (problem) throw new DataError(`${problem}: it is a directory name under installdir`, { hint: `fix the osimage table; ${nameHint(NAME)}` });
  return v;
}

/** C0 control characters and DEL: a newline in a boot file starts a new command. */
export const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

export function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
