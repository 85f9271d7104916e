import { UsageError } from "../errors";
import { type BoundedRegex, boundedRegex } from "./safe-regex";

/** `table.column<op>value` atoms (NodeRange.pm nodesbycriteria). */
export interface AttributeSelector {
  table: string;
  column: string;
  /** true when a node whose value is `value` is selected; nodes without a value are tested with "". */
  matches: (value: string) => boolean;
}

/** The only attribute names xCAT accepts without a table. */
const SHORTNAMES: Record<string, readonly [string, string]> = {
  groups: ["nodelist", "groups"],
  tags: ["nodelist", "groups"],
  mgt: ["nodehm", "mgt"],
};

const HINT = "write table.column==value, =value, !=value, =~regex or !~regex (groups, tags and mgt may stand alone)";

export function parseSelector(atom: string): AttributeSelector {
  const { name, op, value } = splitOperator(atom);
  let table: string;
  let column: string;
  const short = Object.hasOwn(SHORTNAMES, name) ? SHORTNAMES[name] : undefined;
  if (short) [table, column] = short;
  else if (name.includes(".")) {
    const dot = name.indexOf(".");
    table = name.slice(0, dot);
    column = name.slice(dot + 1);
  } else {
    throw new UsageError(`'${atom}' is not a valid attribute selector: '${name}' is not table.column`, { hint: HINT });
  }
  switch (op) {
    case "==":
      return { table, column, matches: (v) => v === value };
    case "!=":
      return { table, column, matches: (v) => v !== value };
    case "=~": {
      const re = userRegex(value, atom);
      return { table, column, matches: (v) => re.test(v) };
    }
    case "!~": {
      const re = userRegex(value, atom);
      return { table, column, matches: (v) => !re.test(v) };
    }
  }
}

type Op = "==" | "!=" | "=~" | "!~";

/** The operator tests run in NodeRange.pm's order, which decides `a=b!~c` and the like. */
function splitOperator(atom: string): { name: string; op: Op; value: string } {
  const at = (sep: string, op: Op, isRegex = false) => {
    const i = atom.indexOf(sep);
    const value = atom.slice(i + sep.length);
    // a regex may be written /re/; one slash is dropped from each end
    return { name: atom.slice(0, i), op, value: isRegex ? value.replace(/^\//, "").replace(/\/$/, "") : value };
  };
  if (/^[^=]*!=/.test(atom)) return at("!=", "!=");
  if (/^[^=]*=~/.test(atom)) return at("=~", "=~", true);
  if (atom.includes("==")) return at("==", "==");
  if (atom.includes("=")) return at("=", "==");
  if (atom.includes("!~")) return at("!~", "!~", true);
  throw new UsageError(`'${atom}' is not a valid attribute selector`, { hint: HINT });
}

/** Compile a regular expression typed by the user; a bad or runaway one is a usage error, not a crash or a hang. */
export function userRegex(source: string, where: string): BoundedRegex {
  return boundedRegex(source, `noderange '${where}'`, (message, hint) => new UsageError(message, { hint }));
}
