import type { Context } from "../../core/context";
import type { Db } from "../../core/db/open";
import { runReload } from "../../core/dhcp/reload";
import { XcimgError } from "../../core/errors";
import { planSnDhcp, renderSnDhcp, type SnDhcpPlan } from "../../core/sn/dhcp";

/** What `sn sync --json` says of DHCP: the plan, and what was written. */
export type SnDhcpOutput = SnDhcpPlan & { backend?: string; written: string[]; removed: string[]; reload: string[]; reloaded?: boolean };

/**
 * The SN's DHCP step of `sn sync` (core/sn/dhcp.ts). A failure here (no DHCP server
 * installed, its checker refusing the configuration) leaves the server's previous
 * configuration active and makes the run partial; the boot files are already in place.
 */
export function snDhcp(
  ctx: Context,
  plan: SnDhcpPlan,
  served: ReadonlySet<string>,
  reload: boolean,
  failed: Record<string, string>,
  problems: string[],
): SnDhcpOutput {
  const out: SnDhcpOutput = { ...plan, written: [], removed: [], reload: [] };
  if (plan.skipped) {
    ctx.log.debug(`dhcp: ${plan.skipped}`);
    return out;
  }
  try {
    const r = renderSnDhcp(ctx, plan);
    Object.assign(out, { backend: r.backend, written: r.written, removed: r.removed, reload: r.reload });
    // a node this SN does not serve (listed without disjointdhcps: it is in the SN's subnet) is the MN's problem: a warning here
    for (const [n, why] of Object.entries(r.failed)) {
      if (served.has(n)) failed[n] = `no DHCP entry: ${why}`;
      else ctx.log.warn(`${n}: no DHCP entry on this SN: ${why}`);
    }
    for (const [name, how] of Object.entries(r.missing)) ctx.log.warn(`${name} is missing: ${how}`);
    for (const cmd of r.reload) {
      if (reload) runReload(cmd);
      else ctx.log.info(`the DHCP server needs: ${cmd}   (or rerun with --reload)`);
    }
    out.reloaded = reload && r.reload.length > 0;
  } catch (e) {
    if (!(e instanceof XcimgError)) throw e;
    ctx.log.error(`dhcp: ${e.message}`);
    problems.push(`DHCP not updated: ${e.message}`);
  }
  return out;
}

/** The plan, or a bad networks/site row as a problem of this run (the rest of the sync goes on). */
export function planDhcp(ctx: Context, db: Db, names: readonly string[], served: readonly string[], problems: string[]): SnDhcpPlan {
  try {
    return planSnDhcp(db, names, served, ctx.config.master);
  } catch (e) {
    if (!(e instanceof XcimgError)) throw e;
    ctx.log.error(`dhcp: ${e.message}`);
    problems.push(`DHCP not updated: ${e.message}`);
    return { skipped: e.message, disjoint: false, networks: [], nodes: [] };
  }
}

export function dhcpLines(plan: SnDhcpPlan, dryRun: boolean, failed: Record<string, string> = {}): string[] {
  if (plan.skipped) return [];
  const verb = dryRun ? "would declare" : "declared";
  return [
    `dhcp: ${verb} ${plan.networks.join(", ")}${plan.disjoint ? " (disjointdhcps: this SN's nodes only)" : ""}`,
    ...plan.nodes.filter((n) => !failed[n]).map((n) => `${n}: ${dryRun ? "would get" : "has"} a DHCP entry on this SN`),
  ];
}
