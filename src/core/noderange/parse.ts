import { UsageError } from "../errors";

/**
 * The purely textual steps of NodeRange.pm: how a noderange string is cut into atoms and
 * operators. Nothing here looks at the cluster.
 */

/** xCAT drops every quote character before looking at a noderange, wherever it appears. */
export const stripQuotes = (range: string): string => range.replace(/['"]/g, "");

/** A clear usage error instead of NodeRange.pm's die (or its odd "missing" names) on `(a,b` or `a)`. */
export function assertBalancedParens(range: string, where = `noderange '${range}'`): void {
  let depth = 0;
  for (const c of range) {
    if (c === "(") depth++;
    else if (c === ")" && --depth < 0) break;
  }
  if (depth !== 0) throw new UsageError(`unbalanced parentheses in ${where}`);
}

/** How the text before a parenthesised group combines with it. */
export type GroupOp = "," | ",-" | "@";

export interface ParenGroup {
  before: string;
  op: GroupOp;
  inner: string;
  after: string;
}

/**
 * NodeRange.pm gives the first parenthesised group special treatment (Text::Balanced): the
 * text before it is expanded on its own, combined with the group at once (so `all,-(a),a`
 * keeps a, while `all,-a,a` does not), and the text after it is then read normally.
 */
export function splitFirstParenGroup(range: string): ParenGroup | null {
  const open = range.indexOf("(");
  if (open < 0) return null;
  const close = range.indexOf(")");
  if (close >= 0 && close < open) throw new UsageError(`unbalanced parentheses in noderange '${range}'`);
  let depth = 0;
  let end = -1;
  for (let i = open; i < range.length; i++) {
    if (range[i] === "(") depth++;
    else if (range[i] === ")" && --depth === 0) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new UsageError(`unbalanced parentheses in noderange '${range}'`);
  let before = range.slice(0, open);
  const op: GroupOp = before.endsWith("-") ? ",-" : before.endsWith("@") ? "@" : ",";
  // the three trims run one after another, as in NodeRange.pm
  before = before.replace(/,-$/, "").replace(/,$/, "").replace(/@$/, "");
  return { before, op, inner: range.slice(open + 1, end), after: range.slice(end + 1) };
}

/**
 * Cut a range into [atom, separator, atom, separator, …] like NodeRange.pm's split: on commas
 * that are neither inside [...] nor (...) — judged, as its lookaheads do, by whether the next
 * bracket after the comma is a closing one — or, when there is no such comma, on `@` not
 * followed by `)`. So `@` binds tighter than `,`: `a@b,c` is (a@b),c.
 */
export function splitTopLevel(range: string): string[] {
  const nextSquare = nextOf(range, "[", "]");
  const nextParen = nextOf(range, "(", ")");
  const cuts = (isCut: (c: string, i: number) => boolean) => {
    const tokens: string[] = [];
    let start = 0;
    for (let i = 0; i < range.length; i++) {
      const c = range[i] as string;
      if (!isCut(c, i)) continue;
      tokens.push(range.slice(start, i), c);
      start = i + 1;
    }
    tokens.push(range.slice(start));
    return tokens;
  };
  const byComma = cuts((c, i) => c === "," && nextSquare[i + 1] !== "]" && nextParen[i + 1] !== ")");
  if (byComma.length > 1) return byComma;
  return cuts((c, i) => c === "@" && nextParen[i + 1] !== ")");
}

/** For each position, the first of the two bracket characters found at or after it ("" if none). Linear, unlike the regex lookaheads. */
function nextOf(text: string, open: string, close: string): string[] {
  const next = new Array<string>(text.length + 1);
  next[text.length] = "";
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text[i] as string;
    next[i] = c === open || c === close ? c : (next[i + 1] as string);
  }
  return next;
}

/**
 * The noderanges a ^file holds: every line not starting with ^ or #, up to its first colon,
 * tab or space (so `node01  # comment` and `node01:extra` both give node01). Lines are
 * read as data only; nothing in the file is ever run.
 */
export function fileRanges(content: string): string[] {
  const ranges: string[] = [];
  for (const line of content.split("\n")) {
    if (line.startsWith("^") || line.startsWith("#")) continue;
    // xCAT would keep a CR from a DOS file in the name and then not find the node
    ranges.push((/^[^:\t ]*/.exec(line)?.[0] ?? "").replace(/\r$/, ""));
  }
  return ranges;
}
