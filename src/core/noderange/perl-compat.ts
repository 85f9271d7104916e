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
export function perlRange(left: string, right: string, what: string, budget?: NameBudget): string[] {
  const magic = left.length > 1 && left.startsWith("0");
  const first = BigInt(left);
  const last = magic ? lastMagicValue(left, right) : BigInt(right);
  const count = last < first ? 0n : last - first + 1n;
  // counted before a single name is made: `node1+999999999` must fail at once, not after minutes
  if (count > BigInt(MAX_RANGE_NAMES)) throw new UsageError(`range '${what}' expands to more than ${MAX_RANGE_NAMES} names`);
  budget?.reserve(Number(count), what);
  const out: string[] = [];
  // magic increment never shortens the string: it is the number padded to the left side's width
  for (let n = first; n <= last; n++) out.push(magic ? n.toString().padStart(left.length, "0") : n.toString());
  return out;
}

/** How many names perlRange(left, right) gives, without making them. */
export function perlRangeCount(left: string, right: string): bigint {
  const magic = left.length > 1 && left.startsWith("0");
  const first = BigInt(left);
  const last = magic ? lastMagicValue(left, right) : BigInt(right);
  return last < first ? 0n : last - first + 1n;
}

/**
 * All the names one noderange evaluation may generate, over all its ranges together:
 * `a[1-999999],b[1-999999],...` is refused once the sum passes the cap, before the next range
 * is expanded, instead of filling memory one legal range at a time.
 */
export class NameBudget {
  private used = 0;
  constructor(readonly limit = 2 * MAX_RANGE_NAMES) {}
  reserve(count: number, what: string): void {
    if (this.used + count > this.limit) {
      throw new UsageError(`noderange generates more than ${this.limit} names (at '${what}')`, { hint: "split the noderange, or use groups" });
    }
    this.used += count;
  }
}

/** Where Perl's magic increment from `left` stops: at `right` if it reaches it, else at the widest number no longer than `right`. */
function lastMagicValue(left: string, right: string): bigint {
  if (right.length < left.length) return -1n;
  const target = BigInt(right);
  if (target >= BigInt(left) && target.toString().padStart(left.length, "0") === right) return target;
  return 10n ** BigInt(right.length) - 1n;
}
