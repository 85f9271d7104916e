import { NotFoundError, UsageError, XcimgError } from "../errors";
import { readNodeFile } from "./node-file";
import { assertBalancedParens, fileRanges, splitFirstParenGroup, splitTopLevel, stripQuotes } from "./parse";
import { MAX_RANGE_NAMES, NameBudget } from "./perl-compat";
import { type BracketRewrite, bracketProduct, incrementNames, namesBetween, rangeEnds, rewriteFirstBracket } from "./range-syntax";
import { parseSelector, userRegex } from "./selector";
import type { ExpandOptions, NodeSource } from "./source";

/**
 * xCAT's noderange evaluation (perl-xCAT/xCAT/NodeRange.pm), including the quirks sites
 * depend on or will trip over; see test/core/noderange/noderange.test.ts and noderange-golden.json,
 * whose expected results come from running NodeRange.pm itself.
 */

/** `verify`: unknown names are errors (else returned as typed). `generic`: pure text expansion, no lookups (inner step of `f[1-2]n[1-3]`). */
interface Mode {
  verify: boolean;
  generic: boolean;
}

export interface InternalExpandOptions extends ExpandOptions {
  /** default true; false expands site.excludenodes itself without recursing into it */
  siteExclusion?: boolean;
  /** default false; true drops unknown names silently even in verify mode (site.excludenodes may name retired nodes) */
  ignoreMissing?: boolean;
}

const MAX_DEPTH = 200;

export function expandNoderange(expr: string, src: NodeSource, opts: InternalExpandOptions = {}): string[] {
  const verify = opts.verify ?? true;
  assertBalancedParens(stripQuotes(expr));
  const run = new Expansion(src, opts);
  const nodes = run.range(expr, { verify, generic: false });
  if (opts.siteExclusion ?? true) for (const node of src.excludedNodes()) nodes.delete(node);
  if (verify && !opts.ignoreMissing && run.missing.length > 0) {
    throw new NotFoundError(`Invalid nodes and/or groups in noderange: ${run.missing.join(",")}`);
  }
  // Perl's sort: plain string order, so node1, node10, node2
  return [...nodes].sort();
}

/** One evaluation: the source's answers are looked up at most once each. */
class Expansion {
  readonly missing: string[] = [];
  private readonly missingSeen = new Set<string>();
  private nodeSet: ReadonlySet<string> | undefined;
  private nodeList: readonly string[] | undefined;
  private readonly groups = new Map<string, readonly string[] | undefined>();
  private readonly attributes = new Map<string, ReadonlyMap<string, string>>();
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly readFile: (path: string) => string;
  private depth = 0;
  private readonly budget = new NameBudget();

  constructor(
    private readonly src: NodeSource,
    opts: ExpandOptions,
  ) {
    const env = opts.env ?? process.env;
    this.prefix = env.XCAT_NODE_PREFIX ?? "node";
    this.suffix = env.XCAT_NODE_SUFFIX ?? "";
    this.readFile = opts.readFile ?? readNodeFile;
  }

  /** NodeRange.pm noderange(), minus site.excludenodes (applied once, by the caller). */
  range(text: string, mode: Mode): Set<string> {
    return this.nested(() => {
      const range = stripQuotes(text);
      const nodes = new Set<string>();
      const excluded = new Set<string>();
      let rest = range;
      const group = splitFirstParenGroup(range);
      if (group) {
        for (const n of this.range(group.before, mode)) nodes.add(n);
        combine(nodes, group.op, this.range(group.inner, mode));
        rest = group.after;
      }
      const tokens = splitTopLevel(rest);
      let op = ",";
      for (let i = 0; i < tokens.length; i++) {
        let atom = tokens[i] as string;
        if (atom === "" || atom === ",") continue;
        if (atom.startsWith("-")) {
          atom = atom.slice(1);
          op += "-";
        } else if (atom.startsWith("@")) {
          atom = atom.slice(1);
          op = "@";
        }
        if (atom === "") continue;
        if (atom.startsWith("^")) {
          // xCAT always adds a file's nodes, whatever the operator, and leaves the operator
          // in force for the next atom: `-^f,b` adds f's nodes and excludes b
          for (const n of this.file(atom.slice(1), mode)) nodes.add(n);
          continue;
        }
        const found = this.atom(atom, mode);
        if (op.includes("@")) {
          combine(nodes, "@", new Set(found));
        } else {
          // exclusions win over inclusions anywhere in the range, so they are applied last
          append(op.includes(",-") ? excluded : nodes, found);
        }
        i++;
        op = tokens[i] ?? ",";
      }
      for (const n of excluded) nodes.delete(n);
      return nodes;
    });
  }

  /** NodeRange.pm expandatom(): what one atom stands for. The order of the tests is xCAT's and matters. */
  private atom(atom: string, mode: Mode): readonly string[] {
    return this.nested(() => {
      if (!mode.generic && this.isNode(atom)) return [atom]; // a node wins over a group of the same name
      if (/^\(.*\)$/.test(atom)) return [...this.range(atom.slice(1, -1), mode)];
      if (atom.includes("@")) return [...this.range(atom, mode)];
      let groupNodes: readonly string[] | undefined;
      if (!mode.generic) {
        groupNodes = this.groupMembers(atom);
        if (groupNodes?.length === 0) return []; // a defined group without members is not an error
      }
      if (/[=~]/.test(atom)) return this.select(atom);
      // a bare number is a node name without its prefix; this test comes before the group's
      // members, so a group called "10" is never used. (An empty prefix and suffix would make
      // xCAT recurse forever; we fall through instead.)
      if (/^[0-9]+$/.test(atom) && this.prefix + this.suffix !== "") return this.atom(`${this.prefix}${atom}${this.suffix}`, mode);
      if (groupNodes !== undefined) return groupNodes;
      if (atom.startsWith("/")) return this.regex(atom, mode);
      const bracket = rewriteFirstBracket(atom);
      if (bracket) {
        if (bracketProduct(atom) > BigInt(MAX_RANGE_NAMES)) throw new UsageError(`range '${atom}' expands to more than ${MAX_RANGE_NAMES} names`);
        return this.brackets(bracket, mode);
      }
      if (atom.includes("+")) return this.each(incrementNames(atom, this.prefix, this.suffix, this.budget), mode);
      if (/[-:]/.test(atom)) {
        const ends = rangeEnds(atom);
        if (ends && ends.left === ends.right) return this.atom(ends.left, mode);
        const names = ends && namesBetween(ends.left, ends.right, atom, this.budget);
        if (names) return this.each(names, mode);
      }
      return this.unknown(atom, mode);
    });
  }

  private brackets({ parts, more }: BracketRewrite, mode: Mode): string[] {
    if (more === null) return this.each(parts, mode);
    // f[1-2]n[1-3]: expand f1, f2 as plain text first, then each with the rest of the brackets
    const heads = this.each(parts, { verify: false, generic: true });
    return this.each(
      heads.map((head) => `${head}${more}`),
      mode,
    );
  }

  private each(names: readonly string[], mode: Mode): string[] {
    const out: string[] = [];
    for (const name of names) append(out, this.atom(name, mode));
    return out;
  }

  /** `/re`: matched against node names only, as ^re$ — so `/a|b` is ^a or b$, as in xCAT. */
  private regex(atom: string, mode: Mode): readonly string[] {
    if (!mode.verify || mode.generic) return [atom];
    const re = userRegex(`^${atom.slice(1)}$`, atom);
    return this.allNodes().filter((n) => re.test(n));
  }

  private select(atom: string): string[] {
    const selector = parseSelector(atom);
    const key = `${selector.table}.${selector.column}`;
    const values = this.attributes.get(key) ?? this.src.attribute(selector.table, selector.column);
    this.attributes.set(key, values);
    return this.allNodes().filter((n) => selector.matches(values.get(n) ?? ""));
  }

  private file(path: string, mode: Mode): Set<string> {
    let content: string;
    try {
      content = this.readFile(path);
    } catch (e) {
      if (e instanceof XcimgError) throw e; // readNodeFile's own: missing, not a regular file, too large
      // xCAT silently skips a file it cannot open; a typo in a path should not act on no nodes
      throw new NotFoundError(`cannot read noderange file ${path}: ${(e as Error).message}`, { cause: e });
    }
    const nodes = new Set<string>();
    for (const line of fileRanges(content)) {
      assertBalancedParens(line, `'${line}' in noderange file ${path}`);
      for (const n of this.range(line, mode)) nodes.add(n);
    }
    return nodes;
  }

  private unknown(atom: string, mode: Mode): string[] {
    if (!mode.verify) return [atom];
    if (!this.missingSeen.has(atom)) {
      this.missingSeen.add(atom);
      this.missing.push(atom);
    }
    return [];
  }

  private isNode(name: string): boolean {
    this.nodeSet ??= new Set(this.allNodes());
    return this.nodeSet.has(name);
  }

  private allNodes(): readonly string[] {
    this.nodeList ??= this.src.allNodes();
    return this.nodeList;
  }

  private groupMembers(name: string): readonly string[] | undefined {
    if (!this.groups.has(name)) this.groups.set(name, this.src.groupMembers(name));
    return this.groups.get(name);
  }

  /** Guards against a ^file that includes itself through a range on one of its lines. */
  private nested<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new UsageError("noderange nests too deeply (does a ^file include itself?)");
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }
}

/** push(...items) overflows the call stack for ranges of a few hundred thousand names. */
function append(to: string[] | Set<string>, items: readonly string[]): void {
  if (Array.isArray(to)) for (const item of items) to.push(item);
  else for (const item of items) to.add(item);
}

/** Apply one of the immediate set operations to `nodes`. */
function combine(nodes: Set<string>, op: "," | ",-" | "@", other: ReadonlySet<string>): void {
  if (op === "@") {
    for (const n of nodes) if (!other.has(n)) nodes.delete(n);
  } else if (op === ",-") for (const n of other) nodes.delete(n);
  else for (const n of other) nodes.add(n);
}
