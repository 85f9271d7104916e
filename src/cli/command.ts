import type { CommandDef } from "citty";
import type { ArgSpec, ArgsSpec, ParsedArgs } from "./args";
import type { Context } from "./context";

/** What a command hands back: data for --json, text for people, and an exit code. */
export interface Output {
  data: unknown;
  text: string;
  /** Non-zero when some nodes/items failed but the command did the rest. */
  exitCode?: number;
}

export function output(data: unknown, text: string | string[], exitCode?: number): Output {
  const body = Array.isArray(text) ? text.join("\n") : text;
  return { data, text: body === "" || body.endsWith("\n") ? body : `${body}\n`, exitCode };
}

export interface LeafSpec<A extends ArgsSpec> {
  /** Full path after `xcimg`, e.g. "image set". */
  name: string;
  description: string;
  args: A;
  /** True (or true for these arguments) when the command never writes the database: it then runs where the database is read-only (db/open-readonly.ts). */
  readOnly?: boolean | ((args: ParsedArgs<A>) => boolean);
  /** Shell lines shown under EXAMPLES in --help. */
  examples: string[];
  run(ctx: Context, args: ParsedArgs<A>): Promise<Output> | Output;
}

export type LeafCommand = CommandDef & { xcimg: LeafSpec<ArgsSpec> };

/** A citty command whose arguments xcimg parses strictly (see args.ts). */
export function leaf<const A extends ArgsSpec>(spec: LeafSpec<A>): LeafCommand {
  return {
    meta: { name: spec.name, description: spec.description },
    args: toCittyArgs(spec.args),
    xcimg: spec as unknown as LeafSpec<ArgsSpec>,
  };
}

/**
 * A subcommand whose file loads only when it runs, so `xcimg --help` and `xcimg node list`
 * never pay for ssh2 or tar: `capture: lazy(() => import("../commands/capture"))`. The one
 * idiom of the command tree (src/cli/tree.ts and src/commands/<group>/index.ts).
 */
export function lazy(load: () => Promise<{ default: CommandDef }>): () => Promise<CommandDef> {
  return () => load().then((m) => m.default);
}

export function isLeaf(cmd: CommandDef): cmd is LeafCommand {
  return Object.hasOwn(cmd, "xcimg");
}

/** citty renders --help from its own ArgDef shape; carry our extras into the descriptions. */
export function toCittyArgs(args: ArgsSpec): NonNullable<CommandDef["args"]> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, spec] of Object.entries(args) as [string, ArgSpec][]) {
    const { description, ...rest } = spec;
    const extra = (spec.type === "string" && spec.multiple) || (spec.type === "positional" && spec.variadic) ? " (repeatable)" : "";
    const d: Record<string, unknown> = { ...rest, description: description + extra };
    delete d.multiple;
    delete d.variadic;
    if (spec.type === "enum") d.options = [...spec.options];
    // help shows the spelling the parser accepts: --exclude-file, not --excludeFile
    out[spec.type === "positional" ? name : name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = d;
  }
  return out as NonNullable<CommandDef["args"]>;
}
