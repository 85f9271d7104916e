import { UsageError } from "../errors";
import { isDigits, MAX_RANGE_NAMES, type NameBudget, perlRange, perlRangeCount, perlSplit } from "./perl-compat";

/**
 * The name-generating forms of a noderange atom — brackets, `+`, and dash/colon ranges — as
 * pure text rewriting. Each generated name is resolved again by the caller (as a node, a group,
 * another range…), exactly as NodeRange.pm's expandatom recurses.
 */

export interface BracketRewrite {
  /** `node[1-3,7]x` → ["node1x-node3x", "node7x"]: ranges the caller expands. */
  parts: string[];
  /** Text after the first bracket when it holds more brackets (`f[1-2]n[1-3]` → "n[1-3]"), else null. */
  more: string | null;
}

/** The first `[...]` of an atom, rewritten per comma-separated part into a dash/colon range. */
export function rewriteFirstBracket(atom: string): BracketRewrite | null {
  const m = /(.+?)\[(.+?)\](.*)/.exec(atom);
  if (!m) return null;
  const [, start = "", inside = "", ending = ""] = m;
  const more = /\[.+?\]/.test(ending) ? ending : null;
  // "01-10" → ["01", "-", "10"]: each number becomes start+number(+ending), separators kept
  const pieces = perlSplit(inside, /([,\-:])/);
  let rewritten = "";
  for (let i = 0; i < pieces.length; i += 2) rewritten += `${start}${pieces[i]}${more === null ? ending : ""}${pieces[i + 1] ?? ""}`;
  return { parts: perlSplit(rewritten, /,/), more };
}

/**
 * `node10+3` → node10…node13, keeping the width of the start (`node01+2` → node01…node03).
 * The number is the last one before an optional `.domain`; a bare number (`500+10`) takes the
 * XCAT_NODE_PREFIX/SUFFIX.
 */
export function incrementNames(atom: string, prefix: string, suffix: string, budget?: NameBudget): string[] {
  const plus = atom.indexOf("+");
  const front = atom.slice(0, plus);
  const count = atom.slice(plus + 1);
  const m = /^(.*?)(\d+)(\..+)?$/.exec(front);
  // xCAT quietly numifies junk here ("cn1-ib+2" becomes node0..node2); we refuse it instead
  if (!m || !isDigits(count)) {
    throw new UsageError(`'${atom}' is not a valid increment range`, { hint: "write <name ending in a number>+<count>, e.g. node10+3" });
  }
  let [, pref = "", startnum = "", suf = ""] = m;
  const end = (BigInt(startnum) + BigInt(count)).toString();
  const endnum = end.padStart(startnum.length, "0");
  if (pref === "" && suf === "") {
    pref = prefix;
    suf = suffix;
  }
  return perlRange(startnum, endnum, atom, budget).map((n) => `${pref}${n}${suf}`);
}

/**
 * The two ends of `a-b` or `a:b`. With dashes, names may contain dashes themselves, so an odd
 * count is needed and the middle one separates the ends (`cn1-ib-cn3-ib`); an even count is
 * not a range (null). A colon always separates (`cn1-ib:cn3-ib`).
 */
export function rangeEnds(atom: string): { left: string; right: string } | null {
  if (atom.includes(":")) {
    const [left = "", right = ""] = atom.split(":");
    return { left, right };
  }
  const dashes = atom.split("-").length - 1;
  if (dashes % 2 === 0) return null;
  const m = new RegExp(`([^-]+?${"-[^-]*".repeat((dashes - 1) / 2)})-(.*)`).exec(atom);
  if (!m) return null;
  return { left: m[1] ?? "", right: m[2] ?? "" };
}

/**
 * Every name from left to right, when the two differ in exactly one run of digits and agree
 * on everything else; null when they do not line up.
 */
export function namesBetween(left: string, right: string, atom: string, budget?: NameBudget): string[] | null {
  const l = perlSplit(left, /(\d+)/);
  const r = perlSplit(right, /(\d+)/);
  if (l.length !== r.length) return null;
  for (let i = 0; i < l.length; i++) {
    const a = l[i] as string;
    const b = r[i] as string;
    if (a === b) continue;
    if (!isDigits(a) || !isDigits(b)) return null;
    const before = l.slice(0, i).join("");
    const after = l.slice(i + 1).join("");
    if (after !== r.slice(i + 1).join("")) return null;
    return perlRange(a, b, atom, budget).map((n) => `${before}${n}${after}`);
  }
  return null;
}

/**
 * How many names every bracket of `f[1-1000]n[1-1000]g[1-1000]` makes together: the product
 * of each bracket's count, computed from the numbers alone. Checked before the first bracket
 * is expanded, so a product past the cap fails at once instead of after a million strings.
 * Parts that are not plain numbers or number ranges count as one name (they are expanded
 * and checked as they are met).
 */
export function bracketProduct(atom: string): bigint {
  let product = 1n;
  for (const [, inside = ""] of atom.matchAll(/\[(.+?)\]/g)) {
    let count = 0n;
    for (const part of inside.split(",")) {
      const m = /^(\d+)[-:](\d+)$/.exec(part);
      count += m ? perlRangeCount(m[1] as string, m[2] as string) : 1n;
    }
    product *= count > 0n ? count : 1n;
    if (product > BigInt(MAX_RANGE_NAMES)) return product;
  }
  return product;
}
