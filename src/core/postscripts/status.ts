import type { Context } from "../context";
import { NODE_TYPE, readNodes } from "../defs/node";
import { type Attrs, writeObject } from "../defs/object";
import { XcimgError } from "../errors";
import { NodeTrust } from "../remote/node-ssh";
import { connect } from "../remote/ssh";
import { parseStatus } from "../remote/status-file";
import type { SshFlags } from "../remote/target";
import { eachBounded, FANOUT } from "./fanout";
import { STATUS_FILE } from "./runner";
import { NO_KEY } from "./trust";

/**
 * `xcimg node status <noderange> [--wait]`: where each netboot/statelite node is with its
 * postscripts, read over SSH from the status file its runner keeps (runner.sh) — no daemon on
 * either side, as `clone --status`. The node is trusted only with the host key xcimg gave it at
 * boot (NodeTrust). The result goes to nodelist.status as xCAT's updatenodestat would set it:
 * booting (postscripts), postbooting, booted, failed.
 */
export type BootState = "booted" | "failed" | "running" | "unknown" | "unreachable";

export interface PostscriptStatus {
  node: string;
  state: BootState;
  /** Scripts that failed (state failed). */
  failed: string[];
  /** running: the phase and script now running. */
  current: string;
  /** Listed scripts neither xcimg nor <installdir>/postscripts provide. */
  skipped: string[];
  message: string;
}

const PROBE = `cat ${STATUS_FILE} 2>/dev/null || echo state=none`;

export async function postscriptStatus(ctx: Context, nodes: readonly string[], ssh: SshFlags): Promise<PostscriptStatus[]> {
  const attrs = readNodes(ctx.db(), nodes);
  const trust = new NodeTrust(ctx);
  try {
    const out = await eachBounded(nodes, FANOUT, (node) => oneNode(ctx, node, attrs.get(node), trust, ssh), ctx.signal);
    record(ctx, out.filter(Boolean), attrs);
    return out;
  } finally {
    trust.close();
  }
}

async function oneNode(ctx: Context, node: string, a: Attrs | undefined, trust: NodeTrust, ssh: SshFlags): Promise<PostscriptStatus> {
  const st: PostscriptStatus = { node, state: "unknown", failed: [], current: "", skipped: [], message: "" };
  if (!a) {
    st.message = "is not a defined node";
    return st;
  }
  if (!trust.hasKey(node)) {
    st.state = "unreachable";
    st.message = NO_KEY;
    return st;
  }
  let text: string;
  try {
    const session = await connect(trust.target(ctx, node, ssh), { signal: ctx.signal, readyTimeoutMs: 10_000 });
    try {
      text = (await session.run(PROBE, { signal: ctx.signal })).stdout.toString("utf8");
    } finally {
      session.close();
    }
  } catch (e) {
    if (!(e instanceof XcimgError) || ctx.signal.aborted) throw e;
    st.state = "unreachable";
    st.message = e.message;
    return st;
  }
  const s = parseStatus(text);
  st.skipped = (s.skipped ?? "").split(" ").filter(Boolean);
  st.failed = (s.failed ?? "").split(" ").filter(Boolean);
  if (s.state === "booted" || s.state === "failed") st.state = s.state;
  else if (s.state === "running") {
    st.state = "running";
    st.current = [s.phase, s.current].filter(Boolean).join(" ");
  } else st.message = "no postscript status on the node (not booted with xcimg's runner, or it has not started yet)";
  return st;
}

/** nodelist.status, as xCAT's nodes report it (booting, postbooting, booted, failed). */
function record(ctx: Context, statuses: PostscriptStatus[], attrs: Map<string, Attrs>): void {
  const now = new Date().toISOString();
  const rows: { node: string; status: string }[] = [];
  for (const s of statuses) {
    const status =
      s.state === "running"
        ? s.current.startsWith("postbootscript")
          ? "postbooting"
          : "booting"
        : s.state === "booted" || s.state === "failed"
          ? s.state
          : null;
    if (status && attrs.get(s.node)?.status !== status) rows.push({ node: s.node, status });
  }
  if (!rows.length) return;
  const db = ctx.db();
  db.write(() => {
    for (const r of rows) writeObject(db, NODE_TYPE, r.node, { status: r.status, statustime: now });
  });
}

export function isSettled(s: PostscriptStatus): boolean {
  return s.state === "booted" || s.state === "failed";
}

/** `--wait`: again every 5 s (logging each change) until every node is booted or failed, the timeout passes or Ctrl-C. */
export async function followStatus(
  ctx: Context,
  nodes: readonly string[],
  opts: { ssh: SshFlags; wait: boolean; timeoutSeconds: number | null },
): Promise<PostscriptStatus[]> {
  const deadline = opts.timeoutSeconds === null ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutSeconds * 1000;
  const seen = new Map<string, string>();
  for (;;) {
    const statuses = await postscriptStatus(ctx, nodes, opts.ssh);
    if (!opts.wait) return statuses;
    for (const s of statuses) {
      const line = statusLine(s);
      if (seen.get(s.node) !== line) ctx.log.info(line);
      seen.set(s.node, line);
    }
    if (statuses.every(isSettled) || Date.now() >= deadline || ctx.signal.aborted) return statuses;
    await Bun.sleep(Math.min(5_000, Math.max(0, deadline - Date.now())));
  }
}

export function statusLine(s: PostscriptStatus): string {
  const skipped = s.skipped.length ? ` (not run: ${s.skipped.join(" ")})` : "";
  switch (s.state) {
    case "booted":
      return `${s.node}: booted${skipped}`;
    case "failed":
      return `${s.node}: failed: ${s.failed.join(" ")}${skipped}`;
    case "running":
      return `${s.node}: running: ${s.current}`;
    default:
      return `${s.node}: ${s.state}: ${s.message}`;
  }
}
