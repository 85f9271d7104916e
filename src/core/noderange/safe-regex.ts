import type { XcimgError } from "../errors";

/**
 * Regular expressions xcimg runs on node names come from the command line (`/regex`,
 * `attr=~regex`) and from tables (xCAT's |regex|replacement| values, nodegroup.wherevals), and
 * JavaScript's engine backtracks: `^(a+)+$` over 10,000 long names runs for hours in a
 * synchronous loop that not even SIGTERM interrupts. Two defences, both needed:
 *
 * 1. Refuse, before running, the constructs that backtrack exponentially: a repeated group that
 *    itself repeats or alternates (`(a+)+`, `(a|aa)*`, `(.*a){20}`), backreferences and
 *    lookarounds (which no linear-time engine supports either). xCAT's own examples
 *    (`|\D+(\d+).*$|...|`, `/cn0[1-4]`) use none of them.
 * 2. A time budget per expression over all the names it is run on (BUDGET_MS): what is left —
 *    polynomial patterns such as `.*.*.*.*x` — is stopped with an error once it has used it.
 *    JavaScriptCore itself gives up on a single match after a bounded amount of backtracking, so
 *    one call cannot overrun the budget by more than that.
 *
 * A Worker with a timeout would bound the time as well, but each of the thousands of per-node
 * calls of the table values would pay for a message round trip; the checks here are free.
 */
export const BUDGET_MS = 2000;

export interface BoundedRegex {
  readonly source: string;
  test(s: string): boolean;
  /** String.prototype.replace with this expression (first match, $1 references). */
  replace(s: string, replacement: string): string;
}

type Fail = (message: string, hint?: string) => XcimgError;

/** Why `source` may backtrack exponentially (or uses what we refuse), or null. */
export function backtrackProblem(source: string): string | null {
  interface Frame {
    repeats: boolean;
    alternates: boolean;
  }
  const stack: Frame[] = [{ repeats: false, alternates: false }];
  let last: "atom" | Frame | null = null;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    const top = stack[stack.length - 1] as Frame;
    if (c === "\\") {
      const n = source[i + 1] ?? "";
      if (/[1-9]/.test(n) || (n === "k" && source[i + 2] === "<")) return "backreferences (\\1, \\k<name>) are not supported";
      i++;
      last = "atom";
    } else if (c === "[") {
      for (i++; i < source.length && source[i] !== "]"; i++) if (source[i] === "\\") i++;
      last = "atom";
    } else if (c === "(") {
      if (/^\(\?(=|!|<=|<!)/.test(source.slice(i, i + 4))) return "lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported";
      stack.push({ repeats: false, alternates: false });
      last = null;
    } else if (c === ")") {
      if (stack.length === 1) return null; // unbalanced: the RegExp constructor reports it
      const f = stack.pop() as Frame;
      const parent = stack[stack.length - 1] as Frame;
      parent.repeats ||= f.repeats;
      last = f;
    } else if (c === "|") {
      top.alternates = true;
      last = null;
    } else if (c === "*" || c === "+" || c === "?" || c === "{") {
      let repeating = c !== "?";
      if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
        if (!m) {
          last = "atom"; // a literal {
          continue;
        }
        repeating = m[2] !== undefined && (m[3] === "" || Number(m[3]) > 1) ? true : Number(m[1]) > 1;
        i += m[0].length - 1;
      }
      if (source[i + 1] === "?") i++; // lazy
      if (repeating && last !== null && last !== "atom" && (last.repeats || last.alternates)) {
        return "a repeated group that itself repeats or alternates, such as (a+)+ or (a|b)*, can take exponential time";
      }
      if (repeating) top.repeats = true;
      last = "atom";
    } else {
      last = "atom";
    }
  }
  return null;
}

const cache = new Map<string, BoundedRegex>();

/**
 * Compile `source` (or a cached copy, so the budget is shared by all the calls for one table
 * value), refusing what backtrackProblem finds; `fail` makes the error (UsageError for what the
 * user typed, DataError for table values).
 */
export function boundedRegex(source: string, where: string, fail: Fail): BoundedRegex {
  const key = `${where}\0${source}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const problem = backtrackProblem(source);
  if (problem)
    throw fail(`regular expression '${source}' in ${where} refused: ${problem}`, "write it without nested repetition, e.g. cn\\d+ instead of (cn\\d*)+");
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (e) {
    throw fail(`invalid regular expression in ${where}: ${(e as Error).message}`);
  }
  let spent = 0;
  const timed = <T>(fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      spent += performance.now() - t0;
      if (spent > BUDGET_MS) {
        cache.delete(key);
        // biome-ignore lint/correctness/noUnsafeFinally: the budget error replaces whatever the match returned
        throw fail(
          `regular expression '${source}' in ${where} took more than ${BUDGET_MS / 1000} s on the node names and was stopped`,
          "simplify it: it backtracks too much",
        );
      }
    }
  };
  const compiled: BoundedRegex = {
    source,
    test: (s) => timed(() => re.test(s)),
    replace: (s, replacement) => timed(() => s.replace(re, replacement)),
  };
  if (cache.size > 1000) cache.clear();
  cache.set(key, compiled);
  return compiled;
}
