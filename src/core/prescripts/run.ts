import { spawn } from "node:child_process";
import { accessSync, constants, readFileSync, realpathSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join, sep } from "node:path";
import type { Context } from "../context";
import { ExitCode, XcimgError } from "../errors";
import { eachBounded } from "../postscripts/fanout";
import { abortReason } from "../remote/ssh";
import { isPrescriptName, maxInstance } from "./parse";
import { type PrescriptPhase, prescriptBatches } from "./resolve";

/**
 * A begin script returned more than 1: xCAT's nodeset stops before it changes anything
 * (xCAT-server/lib/xcat/plugins/prescripts.pm runbeginpre returns the code, and the nodeset
 * plugins return when it is above 1). Exit 1, as xCAT's nodeset.
 */
export class PrescriptStopped extends XcimgError {
  override readonly name = "PrescriptStopped";
  override readonly exitCode = ExitCode.PARTIAL;
}

export interface PrescriptsResult {
  /** `<script>: <message>` for each script that returned non-zero (or could not run). */
  errors: string[];
  ran: { script: string; nodes: string[]; code: number }[];
}

const OUTPUT_LIMIT = 1 << 16;

/**
 * Run the site's prescripts for `nodes` and this nodeset action (`osimage=<img>`, `boot`,
 * `offline`) on this host, as xCAT's nodeset does before (`begin`) and after (`end`) it writes
 * boot files: each script from `<installdir>/prescripts/` with `NODES` (comma list) and `ACTION`
 * (the action as given) in its environment, its output printed. A script that returns 1 is
 * reported and the rest go on; a begin script that returns more than 1, is missing or cannot be
 * run stops the action before anything changed (PrescriptStopped). Scripts run directly, never
 * through a shell built from their names.
 */
export async function runPrescripts(ctx: Context, nodes: readonly string[], action: string, phase: PrescriptPhase): Promise<PrescriptsResult> {
  const out: PrescriptsResult = { errors: [], ran: [] };
  const dir = join(ctx.config.installdir, "prescripts");
  const host = hostname();
  for (const batch of prescriptBatches(ctx.db(), nodes, action, phase)) {
    for (const script of batch.scripts) {
      ctx.log.info(`${host}: Running ${phase} script ${script} for nodes ${batch.nodes.join(",")}.`);
      const path = scriptPath(dir, script);
      const per = typeof path === "string" ? maxInstance(readFileSync(path, "latin1")) : 0;
      const runs =
        typeof path !== "string"
          ? [{ nodes: batch.nodes, code: 127, output: path.problem }]
          : per > 0
            ? await eachBounded(batch.nodes, per, async (n) => ({ nodes: [n], ...(await runOne(path, [n], action, ctx.signal)) }), ctx.signal)
            : [{ nodes: batch.nodes, ...(await runOne(path, batch.nodes, action, ctx.signal)) }];
      for (const r of runs) {
        out.ran.push({ script, nodes: r.nodes, code: r.code });
        const who = per > 0 ? ` node=${r.nodes[0]}.` : "";
        const text = r.output.trim();
        if (r.code === 0) {
          if (text) ctx.log.info(`${host}: ${script}:${who} ${text}`);
          continue;
        }
        const msg = `${script}:${who} return code=${r.code}. Error message=${text}`;
        out.errors.push(msg);
        ctx.log.error(`${host}: ${msg}`);
        if (phase === "begin" && r.code > 1)
          throw new PrescriptStopped(`begin prescript ${script} returned ${r.code} for ${r.nodes.join(",")}: nothing was changed`, {
            hint: `fix or remove it: ${join(dir, script)} (prescripts table, column begin)`,
          });
      }
    }
  }
  return out;
}

/** The script's file, confined to the prescripts directory, or why it cannot run. */
function scriptPath(dir: string, script: string): string | { problem: string } {
  if (!isPrescriptName(script)) return { problem: `'${script}' is not a file name under ${dir}` };
  const path = join(dir, script);
  try {
    const real = realpathSync(path);
    const top = realpathSync(dir);
    if (!real.startsWith(top + sep)) return { problem: `${path} leads outside ${dir}` };
    if (!statSync(real).isFile()) return { problem: `${path} is not a file` };
    accessSync(real, constants.X_OK);
    return real;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: code === "EACCES" ? `${path} is not executable` : `${path} does not exist` };
  }
}

function runOne(path: string, nodes: readonly string[], action: string, signal: AbortSignal): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const child = spawn(path, [], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODES: nodes.join(","), ACTION: action } });
    let output = "";
    const take = (d: Buffer) => {
      if (output.length < OUTPUT_LIMIT) output += d.toString("utf8");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    const onAbort = () => child.kill("SIGTERM");
    signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      resolve({ code: 126, output: `cannot run ${path}: ${e.message}` });
    });
    child.on("close", (code, sig) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) return reject(abortReason(signal));
      resolve({ code: code ?? 128 + (sig === "SIGKILL" ? 9 : 15), output });
    });
  });
}
