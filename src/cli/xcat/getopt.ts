import { UsageError } from "../../core/errors";

/**
 * The option parsing of xCAT's Perl clients (Getopt::Long with bundling), enough for the
 * commands xcimg answers to under their xCAT names: `-m cpio`, `-mcpio`, `--long value`,
 * `--long=value`, bundled booleans (`-pz`), repeatable `-w`/`-e`. An option not in the
 * command's table is a usage error naming it, as xCAT's clients refuse it.
 */
export interface OptSpec {
  /** option letter or long name → takes a value; `many` keeps every occurrence. */
  [flag: string]: "bool" | "value" | "many";
}

export interface Parsed {
  opts: Map<string, string[]>;
  positionals: string[];
}

export function getopt(command: string, argv: readonly string[], spec: OptSpec, usage: string): Parsed {
  const opts = new Map<string, string[]>();
  const positionals: string[] = [];
  const bad = (msg: string) => new UsageError(msg, { hint: usage });
  const put = (flag: string, value: string) => {
    const kind = spec[flag];
    if (kind === undefined) throw bad(`${command}: unknown option '${flag.length === 1 ? "-" : "--"}${flag}'`);
    const list = opts.get(flag) ?? [];
    if (kind !== "many" && list.length) throw bad(`${command}: option '${flag}' given more than once`);
    list.push(value);
    opts.set(flag, list);
  };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (tok === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (tok.startsWith("--") && tok.length > 2) {
      const eq = tok.indexOf("=");
      const name = eq > 0 ? tok.slice(2, eq) : tok.slice(2);
      const kind = spec[name];
      if (kind === undefined) throw bad(`${command}: unknown option '--${name}'`);
      if (kind === "bool") put(name, "");
      else {
        const v = eq > 0 ? tok.slice(eq + 1) : argv[++i];
        if (v === undefined) throw bad(`${command}: option '--${name}' needs a value`);
        put(name, v);
      }
      continue;
    }
    if (tok.startsWith("-") && tok.length > 1) {
      for (let j = 1; j < tok.length; j++) {
        const f = tok[j] as string;
        const kind = spec[f];
        if (kind === undefined) throw bad(`${command}: unknown option '-${f}'`);
        if (kind === "bool") {
          put(f, "");
          continue;
        }
        const rest = tok.slice(j + 1);
        const v = rest !== "" ? rest : argv[++i];
        if (v === undefined) throw bad(`${command}: option '-${f}' needs a value`);
        put(f, v);
        break;
      }
      continue;
    }
    positionals.push(tok);
  }
  return { opts, positionals };
}

export const has = (p: Parsed, ...flags: string[]) => flags.some((f) => p.opts.has(f));
export const one = (p: Parsed, ...flags: string[]) => {
  for (const f of flags) if (p.opts.has(f)) return p.opts.get(f)?.[0];
  return undefined;
};
export const all = (p: Parsed, ...flags: string[]) => flags.flatMap((f) => p.opts.get(f) ?? []);
