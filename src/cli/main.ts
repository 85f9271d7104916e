import "../provmethods/register";
import type { CommandDef, SubCommandsDef } from "citty";
import { loadConfig } from "../core/config/load";
import { ExitCode, InterruptedError, UsageError, XcimgError } from "../core/errors";
import { VERSION } from "../version";
import { isArgumentError, parseArgs } from "./args";
import { isLeaf, type Output } from "./command";
import { type Context, makeContext } from "./context";
import { GLOBAL_ARGS } from "./globals";
import { renderHelp } from "./help";
import { createLogger } from "./logger";
import { nearest } from "./suggest";
import { root } from "./tree";
import { translateXcat, XCAT_COMMAND_NAMES } from "./xcat/commands";

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

interface Globals {
  config?: string;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  help: boolean;
}

async function resolveValue<T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

/**
 * Walk argv down the command tree. Before the leaf only global flags may appear; everything
 * from the leaf on is parsed by the leaf together with the global flags.
 */
async function route(argv: string[]): Promise<{ chain: CommandDef[]; rest: string[]; globals: Partial<Globals>; version: boolean }> {
  const chain: CommandDef[] = [root];
  const globals: Partial<Globals> = {};
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const cmd = chain.at(-1) as CommandDef;
    if (isLeaf(cmd)) break;
    const tok = argv[i] as string;
    if (tok === "--") break;
    if (tok.startsWith("-")) {
      if (tok === "--version" && chain.length === 1) version = true;
      else if (tok === "--json") globals.json = true;
      else if (tok === "-v" || tok === "-V" || tok === "--verbose") globals.verbose = true;
      else if (tok === "-q" || tok === "--quiet") globals.quiet = true;
      else if (tok === "-h" || tok === "-?" || tok === "--help") globals.help = true;
      else if (tok === "--config") {
        const v = argv[++i];
        if (v === undefined) throw new UsageError("option '--config' needs a value");
        globals.config = v;
      } else if (tok.startsWith("--config=")) globals.config = tok.slice(9);
      else throw new UsageError(`unknown option '${tok}'`, { hint: "see 'xcimg --help'" });
      continue;
    }
    const subs = (await resolveValue(cmd.subCommands)) as SubCommandsDef | undefined;
    if (!subs || !Object.hasOwn(subs, tok)) {
      const where = chain.length === 1 ? "xcimg" : `xcimg ${cmdName(cmd)}`;
      const names = Object.keys(subs ?? {});
      const guess = nearest(tok, chain.length === 1 ? [...names, ...XCAT_COMMAND_NAMES] : names);
      throw new UsageError(`unknown command '${tok}' for '${where}'`, {
        hint: `${guess ? `did you mean '${where} ${guess}'? ` : ""}commands: ${names.join(", ")}${chain.length === 1 ? `; xCAT's: ${XCAT_COMMAND_NAMES.join(", ")}` : ""}`,
      });
    }
    chain.push((await resolveValue(subs[tok])) as CommandDef);
  }
  return { chain, rest: argv.slice(i), globals, version };
}

function cmdName(cmd: CommandDef): string {
  const meta = cmd.meta as { name?: string } | undefined;
  return meta?.name ?? "";
}

/** Where an xCAT command name stands in argv, after any global flags: `xcimg --config f tabdump site`. */
function xcatCommandAt(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (tok === "--config") i++;
    else if (!tok.startsWith("-")) return XCAT_COMMAND_NAMES.includes(tok) ? i : -1;
  }
  return -1;
}

/** xCAT's command names (cli/xcat/commands.ts): translated, then run as xcimg commands one after another. */
async function runXcat(argv: string[], at: number, io: Io): Promise<number> {
  const pre = argv.slice(0, at);
  const name = argv[at] as string;
  let inv: ReturnType<typeof translateXcat>;
  try {
    inv = translateXcat(name, argv.slice(at + 1));
  } catch (err) {
    return reportError(err, { json: pre.includes("--json"), verbose: false, io });
  }
  if (inv.kind === "help") {
    io.stdout.write(inv.text);
    return ExitCode.OK;
  }
  if (inv.kind === "version") {
    io.stdout.write(`Version ${VERSION} (xcimg, as ${name})\n`);
    return ExitCode.OK;
  }
  for (const one of inv.argvs) {
    const code = await main([...pre, ...(inv.verbose ? ["-v"] : []), ...one], io);
    if (code !== ExitCode.OK) return code;
  }
  return ExitCode.OK;
}

/** Run xcimg with argv (without the program name); returns the exit code. Never throws. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const xcatAt = xcatCommandAt(argv);
  if (xcatAt >= 0) return runXcat(argv, xcatAt, io);
  let json = argv.includes("--json");
  let verbose = argv.includes("-v") || argv.includes("-V") || argv.includes("--verbose");
  // the command whose usage summary follows a usage error (xCAT's clients print Usage: after one)
  let usageOf: { cmd: CommandDef; parent: CommandDef | undefined } | undefined;
  const write = (s: string) => io.stdout.write(s);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    controller.abort(new InterruptedError(`interrupted by ${sig}; cleaning up`));
  };
  let ctx: ReturnType<typeof makeContext> | null = null;
  try {
    const {
      chain,
      rest,
      globals: pre,
      version,
    } = await route(argv).catch(async (e) => {
      usageOf = { cmd: root, parent: undefined };
      throw e;
    });
    const cmd = chain.at(-1) as CommandDef;
    const parent = chain.length > 1 ? root : undefined;
    usageOf = { cmd, parent };
    if (version) {
      write(`${VERSION}\n`);
      return ExitCode.OK;
    }
    const dashdash = rest.indexOf("--");
    const beforeDashes = dashdash < 0 ? rest : rest.slice(0, dashdash);
    if (pre.help || beforeDashes.includes("--help") || beforeDashes.includes("-h") || beforeDashes.includes("-?")) {
      write(await renderHelp(cmd, parent, Boolean(io.stdout.isTTY) && !io.env.NO_COLOR));
      return ExitCode.OK;
    }
    if (!isLeaf(cmd)) {
      io.stderr.write(await renderHelp(cmd, parent, false));
      usageOf = undefined; // the whole help was just printed
      throw new UsageError(chain.length === 1 ? "no command given" : `'xcimg ${cmdName(cmd)}' needs a subcommand`);
    }
    const spec = cmd.xcimg;
    const parsed = parseArgs(rest, { ...GLOBAL_ARGS, ...spec.args }, `xcimg ${spec.name}`) as Record<string, unknown>;
    const g: Globals = {
      config: (parsed.config as string | undefined) ?? pre.config,
      json: Boolean(parsed.json || pre.json),
      verbose: Boolean(parsed.verbose || pre.verbose),
      quiet: Boolean(parsed.quiet || pre.quiet),
      help: false,
    };
    json = g.json;
    verbose = g.verbose;
    const log = createLogger({ verbose: g.verbose, quiet: g.quiet, stderr: io.stderr, isTTY: Boolean(io.stderr.isTTY) });
    const config = loadConfig({ file: g.config, env: io.env });
    const readOnly = typeof spec.readOnly === "function" ? spec.readOnly(parsed as never) : Boolean(spec.readOnly);
    ctx = makeContext({ config, log, signal: controller.signal, json: g.json, verbose: g.verbose, quiet: g.quiet, env: io.env }, { readOnly });
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const context: Context = ctx;
    const out: Output = await spec.run(context, parsed as never);
    write(g.json ? `${JSON.stringify(out.data, null, 2)}\n` : out.text);
    return out.exitCode ?? ExitCode.OK;
  } catch (err) {
    const code = reportError(err, { json, verbose, io });
    if (err instanceof UsageError && usageOf && (usageOf.cmd === root || isArgumentError(err)))
      io.stderr.write(await usageSummary(usageOf.cmd, usageOf.parent));
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    ctx?.closeDb();
  }
}

function reportError(err: unknown, o: { json: boolean; verbose: boolean; io: Io }): number {
  if (err instanceof XcimgError) {
    o.io.stderr.write(`Error: ${err.message}\n`);
    if (err.hint) o.io.stderr.write(`  hint: ${err.hint}\n`);
    if (o.verbose && err.cause) o.io.stderr.write(`  cause: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
    if (o.json)
      o.io.stdout.write(`${JSON.stringify({ error: { kind: err.name, message: err.message, hint: err.hint ?? null, exitCode: err.exitCode } }, null, 2)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  o.io.stderr.write(`Error: internal error: ${e?.message ?? String(err)}\n`);
  o.io.stderr.write(o.verbose ? `${e?.stack ?? ""}\n` : "  hint: this is a bug in xcimg; rerun with -v for the stack trace and report it\n");
  if (o.json)
    o.io.stdout.write(
      `${JSON.stringify({ error: { kind: "InternalError", message: e?.message ?? String(err), hint: null, exitCode: ExitCode.INTERNAL } }, null, 2)}\n`,
    );
  return ExitCode.INTERNAL;
}

/** `Usage: xcimg node set [OPTIONS] ...`, the line xCAT's tests look for after an argument error. */
async function usageSummary(cmd: CommandDef, parent: CommandDef | undefined): Promise<string> {
  const text = (await renderHelp(cmd, parent, false)).split("\n");
  const line = text.find((l) => l.startsWith("USAGE "));
  const name = cmdName(cmd);
  const full = parent ? `xcimg ${name}` : "xcimg";
  return line ? `Usage: ${line.slice(6).replace(/`/g, "")}\n       (${full} --help for details)\n` : "";
}
