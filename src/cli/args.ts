import { UsageError } from "../core/errors";

/**
 * Errors in the command line itself (as opposed to a bad noderange or value): after these the
 * command's Usage: line is printed, as xCAT's clients do (cli/main.ts).
 */
const argumentErrors = new WeakSet<Error>();
export const isArgumentError = (e: unknown): boolean => e instanceof Error && argumentErrors.has(e);
export function argumentError(message: string, opts: { hint?: string } = {}): UsageError {
  const e = new UsageError(message, opts);
  argumentErrors.add(e);
  return e;
}

/**
 * Argument specs, a superset of citty's ArgDef: `multiple` for repeatable options (-x a -x b,
 * -e src:dest ...) and `variadic` for a trailing positional list (attr=value ...).
 * Parsing is strict: an unknown option, a missing value or a stray positional is a usage
 * error, never silently ignored (citty's own parser is lenient).
 */
interface Common {
  description: string;
  valueHint?: string;
}
export type ArgSpec =
  | (Common & { type: "positional"; required?: boolean; variadic?: boolean })
  | (Common & { type: "string"; alias?: string | string[]; required?: boolean; default?: string; multiple?: boolean })
  | (Common & { type: "boolean"; alias?: string | string[]; default?: boolean })
  | (Common & { type: "enum"; options: readonly string[]; alias?: string | string[]; required?: boolean; default?: string });

export type ArgsSpec = Record<string, ArgSpec>;

type ParsedOne<S extends ArgSpec> = S extends { type: "positional"; variadic: true }
  ? string[]
  : S extends { type: "positional"; required: false }
    ? string | undefined
    : S extends { type: "positional" }
      ? string
      : S extends { type: "string"; multiple: true }
        ? string[]
        : S extends { type: "string"; default: string }
          ? string
          : S extends { type: "string"; required: true }
            ? string
            : S extends { type: "string" }
              ? string | undefined
              : S extends { type: "boolean" }
                ? boolean
                : S extends { type: "enum"; default: string }
                  ? string
                  : S extends { type: "enum"; required: true }
                    ? string
                    : string | undefined;

export type ParsedArgs<A extends ArgsSpec> = { [K in keyof A]: ParsedOne<A[K]> };

function aliases(spec: ArgSpec): string[] {
  if (spec.type === "positional" || !spec.alias) return [];
  return Array.isArray(spec.alias) ? spec.alias : [spec.alias];
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function parseArgs<A extends ArgsSpec>(argv: readonly string[], specs: A, command: string): ParsedArgs<A> {
  const byFlag = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === "positional") continue;
    byFlag.set(`--${kebab(name)}`, name);
    if (spec.type === "boolean") byFlag.set(`--no-${kebab(name)}`, name);
    for (const a of aliases(spec)) byFlag.set(a.length === 1 ? `-${a}` : `--${a}`, name);
  }
  const out: Record<string, unknown> = {};
  const positionals: string[] = [];
  const usage = (msg: string) => argumentError(msg, { hint: `see '${command} --help'` });

  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (tok === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!tok.startsWith("-") || tok === "-") {
      positionals.push(tok);
      continue;
    }
    const eq = tok.startsWith("--") ? tok.indexOf("=") : -1;
    let flag = eq > 0 ? tok.slice(0, eq) : tok;
    let inline: string | undefined = eq > 0 ? tok.slice(eq + 1) : undefined;
    // -xVALUE for a short string option
    if (!tok.startsWith("--") && tok.length > 2 && !byFlag.has(tok)) {
      flag = tok.slice(0, 2);
      inline = tok.slice(2);
    }
    const name = byFlag.get(flag);
    if (!name) throw usage(`unknown option '${flag}' for '${command}'`);
    const spec = specs[name] as ArgSpec;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw usage(`option '${flag}' takes no value`);
      // only the negated spelling is false: a flag whose own name starts with no- (--no-delete) is true
      out[name] = flag !== `--no-${kebab(name)}`;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw usage(`option '${flag}' needs a value`);
      value = next;
      i++;
    }
    if (spec.type === "enum" && !spec.options.includes(value)) {
      throw usage(`invalid value '${value}' for '${flag}': expected one of ${spec.options.join(", ")}`);
    }
    if (spec.type === "string" && spec.multiple) {
      const list = (out[name] as string[] | undefined) ?? [];
      list.push(value);
      out[name] = list;
    } else {
      if (out[name] !== undefined) throw usage(`option '${flag}' given more than once`);
      out[name] = value;
    }
  }

  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === "positional") {
      if (spec.variadic) {
        out[name] = positionals.splice(0);
        if (spec.required && (out[name] as string[]).length === 0) throw usage(`missing ${name.toUpperCase()}`);
        continue;
      }
      const v = positionals.shift();
      if (v === undefined && spec.required !== false) throw usage(`missing ${name.toUpperCase()}`);
      out[name] = v;
      continue;
    }
    if (out[name] === undefined) {
      if (spec.type === "string" && spec.multiple) out[name] = [];
      else if (spec.type === "boolean") out[name] = spec.default ?? false;
      else if (spec.default !== undefined) out[name] = spec.default;
      else if (spec.required) throw usage(`missing required option --${kebab(name)}`);
    }
  }
  if (positionals.length > 0) throw usage(`unexpected argument '${positionals[0]}'`);
  return out as ParsedArgs<A>;
}
