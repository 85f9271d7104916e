import { UsageError } from "../errors";

/**
 * Perl built-ins whose exact behaviour leaks into xCAT's noderange results, so we reproduce
 * them rather than use the nearest JavaScript equivalent.
 */

/** A single range may not produce more names than this; xCAT would just hang on `node1+999999999`. */
export const MAX_RANGE_NAMES = 1_000_000;

/** Perl `split /re/, $text`: JavaScript's split, minus trailing empty fields ("" gives []). */
export function perlSplit(text: string, separator: RegExp): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

export const isDigits = (s: string): boolean => /^[0-9]+$/.test(s);

/**
 * Perl's `$left .. $right` for two digit strings (Perl 5.36 rules). A left side with a leading
 * zero ("01") uses Perl's magic string increment, which keeps the width ("01".."10" is 01 02 …
 * 10) and stops once the strings grow longer than the right side — so "05".."03" runs up to 99.
 * Anything else counts numerically, and an empty range ("5".."3") gives nothing.
 */
export function perlRange(left: string, right: string, what: string): string[] {
  const magic = left.length > 1 && left.startsWith("0");
  const first = BigInt(left);
  const last = magic ? lastMagicValue(left, right) : BigInt(right);
  if (last - first >= BigInt(MAX_RANGE_NAMES)) throw new UsageError(`range '${what}' expands to more than ${MAX_RANGE_NAMES} names`);
  const out: string[] = [];
  // magic increment never shortens the string: it is the number padded to the left side's width
  for (let n = first; n <= last; n++) out.push(magic ? n.toString().padStart(left.length, "0") : n.toString());
  return out;
}

/** Where Perl's magic increment from `left` stops: at `right` if it reaches it, else at the widest number no longer than `right`. */
function lastMagicValue(left: string, right: string): bigint {
  if (right.length < left.length) return -1n;
  const target = BigInt(right);
  if (target >= BigInt(left) && target.toString().padStart(left.length, "0") === right) return target;
  return 10n ** BigInt(right.length) - 1n;
}
