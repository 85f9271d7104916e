import { DataError } from "../errors";
import { type BoundedRegex, boundedRegex } from "../noderange/safe-regex";

/**
 * xCAT's regular-expression table values (Table.pm transRegexAttrs), common in group rows of
 * sites that define thousands of nodes at once:
 *   /A/B/          node name with s/A/B/ applied
 *   |A|B|          the same, and every (...) group in B is integer arithmetic on the captures:
 *                  |\D+(\d+).*$|172.20.(101+(($1-1)/84)).(($1-1)%84+1)|
 *   |B|            A defaults to one `[\D0]*(\d+)` per number in the node name, then `.*$`
 * Returns null when the result is empty (xCAT then treats the attribute as unset).
 */
/** True for the /A/B/ and |A|B| forms, whose value is computed per node. */
export function isRegexAttr(value: string): boolean {
  return /^\/[^/]*\/[^/]*\/$/.test(value) || /^\|.*\|$/.test(value);
}

export function transRegexAttr(node: string, value: string): string | null {
  let out = value;
  if (/^\/[^/]*\/[^/]*\/$/.test(value)) {
    const [a = "", b = ""] = splitOnce(value.slice(1, -1), "/");
    out = perlRegex(a, value).replace(node, perlReplacement(b));
  } else if (/^\|.*\|$/.test(value)) {
    const body = value.slice(1, -1);
    let [a, b] = splitOnce(body, "|");
    if (b === undefined) {
      const numbers = node.match(/[\D0]*(\d+)/g) ?? [];
      b = a;
      a = `${"[\\D0]*(\\d+)".repeat(numbers.length)}.*$`;
    }
    const re = perlRegex(a ?? "", value);
    let expr = b;
    for (let group = firstGroup(expr); group; group = firstGroup(expr)) {
      const substituted = re.replace(node, perlReplacement(group.text));
      expr = expr.slice(0, group.start) + String(evalInteger(substituted, node, value)) + expr.slice(group.end);
    }
    out = re.replace(node, perlReplacement(expr));
  }
  return out === "" ? null : out;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** Table values are data: a runaway or malformed expression is a DataError (safe-regex.ts says why it cannot hang). */
function perlRegex(src: string, value: string): BoundedRegex {
  return boundedRegex(src, `table value '${value}'`, (message, hint) => new DataError(message, { hint }));
}

/** Perl's $1 is JavaScript's $1; a literal $ that is not a capture reference must survive. */
function perlReplacement(s: string): string {
  return s.replace(/\$(?!\d)/g, "$$$$");
}

/** The first outermost (...) group, with its parentheses. */
function firstGroup(s: string): { start: number; end: number; text: string } | null {
  const start = s.indexOf("(");
  if (start < 0) return null;
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")" && --depth === 0) return { start, end: i + 1, text: s.slice(start, i + 1) };
  }
  return null;
}

/** Integer arithmetic as Perl's `use integer` does it: + - * / % and parentheses, truncating division. */
export function evalInteger(expr: string, node: string, value: string): number {
  const tokens = expr.match(/\d+|[-+*/%()]|\S/g) ?? [];
  let i = 0;
  const fail = (): never => {
    throw new DataError(`cannot compute '${expr}' for node ${node} from table value '${value}'`, {
      hint: "xcimg evaluates + - * / % and parentheses on integers; Perl functions such as ipadd() are not supported",
    });
  };
  const primary = (): number => {
    const t = tokens[i++];
    if (t === undefined) return fail();
    if (t === "(") {
      const v = sum();
      if (tokens[i++] !== ")") fail();
      return v;
    }
    if (t === "-") return -primary();
    if (t === "+") return primary();
    if (/^\d+$/.test(t)) return Number.parseInt(t, 10);
    return fail();
  };
  const product = (): number => {
    let v = primary();
    for (;;) {
      const op = tokens[i];
      if (op !== "*" && op !== "/" && op !== "%") return v;
      i++;
      const r = primary();
      if ((op === "/" || op === "%") && r === 0) fail();
      v = op === "*" ? v * r : op === "/" ? Math.trunc(v / r) : v % r;
    }
  };
  const sum = (): number => {
    let v = product();
    for (;;) {
      const op = tokens[i];
      if (op !== "+" && op !== "-") return v;
      i++;
      const r = product();
      v = op === "+" ? v + r : v - r;
    }
  };
  const v = sum();
  if (i !== tokens.length) fail();
  return v;
}
