import { UsageError } from "./errors";

/**
 * Names that end up in paths (rootimgdir, tftpdir/xcat/osimage/<image>, xnba/nodes/<node>) and
 * in kernel command lines. They must never carry a slash, a leading dot or dash, whitespace or
 * shell metacharacters, so no name can escape a directory or reach a shell.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const NODE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function check(kind: string, value: string, re: RegExp, max: number): string {
  if (value === "") throw new UsageError(`${kind} name is empty`);
  if (value.length > max) throw new UsageError(`${kind} name '${value.slice(0, 40)}...' is longer than ${max} characters`);
  if (!re.test(value) || value.includes("..")) {
    throw new UsageError(`invalid ${kind} name '${printable(value)}'`, {
      hint: `use letters, digits and . _ - ${re === NAME ? "+ " : ""}(starting with a letter or digit, no '..')`,
    });
  }
  return value;
}

export const validateImageName = (v: string) => check("image", v, NAME, 128);
export const validateNodeName = (v: string) => check("node", v, NODE, 253);
export const validateGroupName = (v: string) => check("group", v, NODE, 253);
/** profile, osvers, osarch: path components under installdir. */
export const validatePathComponent = (kind: string, v: string) => check(kind, v, NAME, 128);

export function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
