import { type Output, output } from "../cli/command";
import { bootStat, statLine } from "../core/boot/stat";
import type { Context } from "../core/context";
import { ExitCode } from "../core/errors";

/** `xcimg boot --stat`: one line per node; undefined nodes named on stderr, exit 1. */
export function statOutput(ctx: Context, nodes: readonly string[]): Output {
  const res = bootStat(ctx, nodes);
  for (const [n, reason] of Object.entries(res.failed)) ctx.log.error(`${n}: ${reason}`);
  return output(res, res.nodes.map(statLine), Object.keys(res.failed).length ? ExitCode.PARTIAL : ExitCode.OK);
}
