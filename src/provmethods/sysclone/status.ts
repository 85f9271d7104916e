import { Grub2Links } from "../../core/boot/loader-files";
import { writeLocalBoot } from "../../core/boot/local-boot";
import { firstMac } from "../../core/boot/mac";
import { bootPaths } from "../../core/boot/paths";
import type { Context } from "../../core/context";
import { NODE_TYPE, readNodes } from "../../core/defs/node";
import { type Attrs, writeObject } from "../../core/defs/object";
import { XcimgError } from "../../core/errors";
import { NodeTrust } from "../../core/remote/node-ssh";
import { connect } from "../../core/remote/ssh";
import { parseStatus } from "../../core/remote/status-file";
import type { SshFlags } from "../../core/remote/target";

/**
 * `xcimg clone --status` (and `--wait`): how each node's clone is going, read over SSH from
 * the node itself — no daemon on either side. The clone environment runs sshd with the node's
 * own host key (the one xcimg keeps for it, checked against xcimg's ssh_known_hosts), and the
 * script keeps its progress in /run/xcimg/clone.status; a node that has rebooted into its disk
 * has the final status in /var/lib/xcimg/clone.status.
 *
 * A node that reports `done` is switched to local boot here (xCAT's `nodeset boot`): its boot
 * loader file then says "boot from disk", the waiting node sees that and reboots into its disk,
 * and later network boots no longer start a clone. chain.currstate becomes `boot`,
 * nodelist.status `installed`, then `booted` once the node answers from its disk.
 */
export type CloneState =
  | "waiting"
  | "starting"
  | "checking"
  | "partitioning"
  | "formatting"
  | "copying"
  | "configuring"
  | "bootloader"
  | "postscripts"
  | "done"
  | "booted"
  | "failed"
  | "unknown";

export interface NodeStatus {
  node: string;
  state: CloneState;
  percent: number | null;
  message: string;
  job: string | null;
  /** Switched to local boot by this call. */
  switched: boolean;
}

const TERMINAL: CloneState[] = ["booted", "failed"];

export function isFinished(s: NodeStatus): boolean {
  return TERMINAL.includes(s.state) || (s.state === "unknown" && !s.job);
}

const PROBE = [
  "if [ -f /run/xcimg/clone.status ]; then cat /run/xcimg/clone.status; echo where=environment;",
  "elif [ -f /var/lib/xcimg/clone.status ]; then cat /var/lib/xcimg/clone.status; echo where=disk; fi;",
  "echo rootfs=$(stat -f -c %T / 2>/dev/null)",
].join(" ");

export async function cloneStatus(
  ctx: Context,
  nodes: readonly string[],
  opts: { ssh: SshFlags; switchDone: boolean; concurrency?: number },
): Promise<NodeStatus[]> {
  const attrs = readNodes(ctx.db(), nodes);
  const trust = new NodeTrust(ctx);
  const out: NodeStatus[] = new Array(nodes.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < nodes.length; i = next++) {
      const node = nodes[i] as string;
      out[i] = await oneNode(ctx, node, attrs.get(node), trust, opts.ssh);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 32, nodes.length) }, worker));
  } finally {
    trust.close();
  }
  if (opts.switchDone) switchFinished(ctx, out, attrs);
  return out;
}

/**
 * `--status` (one look) and `--wait` (again every 10 s, logging each change of a node's line,
 * until every node has booted from its disk or failed, the timeout passes or Ctrl-C).
 */
export async function followClones(
  ctx: Context,
  nodes: readonly string[],
  opts: { ssh: SshFlags; wait: boolean; timeoutSeconds: number | null },
): Promise<NodeStatus[]> {
  const deadline = opts.timeoutSeconds === null ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutSeconds * 1000;
  const seen = new Map<string, string>();
  for (;;) {
    const statuses = await cloneStatus(ctx, nodes, { ssh: opts.ssh, switchDone: true });
    if (!opts.wait) return statuses;
    for (const s of statuses) {
      const line = statusLine(s);
      if (seen.get(s.node) !== line) ctx.log.info(line);
      seen.set(s.node, line);
    }
    if (statuses.every(isFinished) || Date.now() >= deadline || ctx.signal.aborted) return statuses;
    await Bun.sleep(Math.min(10_000, Math.max(0, deadline - Date.now())));
  }
}

/** The job the management node started for the node, while it is being cloned. */
function expectedJob(a: Attrs | undefined): string | null {
  if (!a?.currstate?.startsWith("sysclone ")) return null;
  return /(?:^|\s)xcimg\.clone=(\S+)/.exec(a.kcmdline ?? "")?.[1] ?? null;
}

/** Switched to local boot after its clone (nodelist.status `installed`), not yet seen running from its disk. */
function switchedToDisk(a: Attrs): boolean {
  return a.currstate === "boot" && a.status === "installed";
}

async function oneNode(ctx: Context, node: string, a: Attrs | undefined, trust: NodeTrust, ssh: SshFlags): Promise<NodeStatus> {
  const job = expectedJob(a);
  const st: NodeStatus = { node, state: "unknown", percent: null, message: "", job, switched: false };
  if (!a) {
    st.message = "is not a defined node";
    return st;
  }
  let out: string;
  try {
    const session = await connect(trust.target(ctx, node, ssh), { signal: ctx.signal, readyTimeoutMs: 10_000 });
    try {
      out = (await session.run(PROBE, { signal: ctx.signal })).stdout.toString("utf8");
    } finally {
      session.close();
    }
  } catch (e) {
    if (!(e instanceof XcimgError)) throw e;
    if (switchedToDisk(a)) {
      // cloned and switched to local boot: it is rebooting into its disk (--wait goes on)
      st.state = "done";
      st.message = `switched to local boot; not answering over SSH yet (${e.message})`;
      return st;
    }
    st.state = job ? "waiting" : "unknown";
    st.message = job ? `not answering over SSH yet (${e.message})` : `not reachable over SSH: ${e.message}`;
    return st;
  }
  const s = parseStatus(out);
  const reported = s.job || null;
  const onDisk = s.where === "disk" || (s.rootfs !== undefined && s.rootfs !== "" && s.rootfs !== "tmpfs" && s.rootfs !== "ramfs");
  if (job && reported !== job) {
    st.state = "waiting";
    st.message = reported
      ? `the node runs clone job ${reported}, not ${job}: it starts the new one at its next network boot`
      : "the node is up but has not started cloning (reboot it to boot from the network)";
    return st;
  }
  if (!reported) {
    st.message = "the node was not cloned by xcimg";
    return st;
  }
  st.job = reported;
  st.percent = s.percent ? Number(s.percent) : null;
  st.message = s.message ?? "";
  const state = (s.state ?? "unknown") as CloneState;
  if (state === "done" && onDisk) {
    st.state = "booted";
    st.message = `booted from its disk${s.disk ? ` (${s.disk})` : ""}`;
  } else st.state = state;
  return st;
}

/** Switch nodes whose clone is done to local boot, in one transaction. */
function switchFinished(ctx: Context, statuses: NodeStatus[], attrs: Map<string, Attrs>): void {
  const paths = bootPaths(ctx.config.tftpdir);
  const grub2 = new Grub2Links(paths.grub2Dir);
  const now = new Date().toISOString();
  const rows: { node: string; attrs: Attrs }[] = [];
  for (const st of statuses) {
    const a = attrs.get(st.node);
    if (!a) continue;
    const cloning = a.currstate?.startsWith("sysclone ");
    if ((st.state === "done" || st.state === "booted") && cloning) {
      writeLocalBoot(paths, grub2, { node: st.node, loader: a.netboot || "xnba", mac: firstMac(st.node, a.mac), ip: a.ip });
      st.switched = true;
      rows.push({ node: st.node, attrs: { currstate: "boot", status: st.state === "booted" ? "booted" : "installed", statustime: now } });
    } else if (st.state === "booted" && a.status !== "booted") rows.push({ node: st.node, attrs: { status: "booted", statustime: now } });
    else if (st.state === "failed" && a.status !== "failed") rows.push({ node: st.node, attrs: { status: "failed", statustime: now } });
  }
  if (rows.length === 0) return;
  const db = ctx.db();
  db.write(() => {
    for (const r of rows) writeObject(db, NODE_TYPE, r.node, r.attrs);
  });
}

export function statusLine(s: NodeStatus): string {
  const pc = s.percent !== null && s.state === "copying" ? ` ${s.percent}%` : "";
  const sw = s.switched ? " (switched to local boot)" : "";
  return `${s.node}: ${s.state}${pc}${s.message ? `: ${s.message}` : ""}${sw}`;
}
