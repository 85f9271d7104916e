import { ExitCode } from "../core/errors";
import { type PrescriptsResult, runPrescripts } from "../core/prescripts/run";
import type { Output } from "./command";
import type { Context } from "./context";

/**
 * xCAT's nodeset around an action: the begin prescripts, the action, the end prescripts
 * (xCAT-server/lib/xcat/plugins/xnba.pm, grub2.pm, pxe.pm call runbeginpre / runendpre). A
 * begin script that returns more than 1 stops before the action (PrescriptStopped); a script
 * that returned 1 leaves the action done and the exit code 1, with its message printed.
 */
export async function withPrescripts(ctx: Context, nodes: readonly string[], action: string, act: () => Promise<Output> | Output): Promise<Output> {
  const begin = await runPrescripts(ctx, nodes, action, "begin");
  const out = await act();
  const end = await runPrescripts(ctx, nodes, action, "end");
  return failedScripts(begin, end) && !out.exitCode ? { ...out, exitCode: ExitCode.PARTIAL } : out;
}

function failedScripts(...rs: PrescriptsResult[]): boolean {
  return rs.some((r) => r.errors.length > 0);
}
