import type { Context } from "../context";
import { ExitCode } from "../errors";
import { eachBounded, FANOUT } from "../postscripts/fanout";
import { abortReason, connect } from "../remote/ssh";
import { nodeTarget, type SshFlags } from "../remote/target";

/**
 * `sn move --sync`: after the move is committed, the MN runs each affected SN's `sn sync` over
 * SSH (the SN's own sshd, its host key checked against ssh.known_hosts and never learnt here,
 * as updatenode does), so both the SNs that gained nodes and those that lost them pick the
 * change up now rather than at their next timer. The SN's own configuration says where its MN
 * is and what its names are; the MN only starts the command (`sn.sync_command`). Each SN's
 * output is relayed line by line, prefixed with its name. A failed SN is named with why; the
 * move itself stays committed (the SN catches up at its next sync).
 */
export interface SnSyncResult {
  sn: string;
  ok: boolean;
  /** The remote command's exit status, null when it never ran (unreachable, host key). */
  exit: number | null;
  /** Why it failed, or a note on a success worth reading (an SN left with no node). */
  message?: string;
}

export async function syncServiceNodes(ctx: Context, sns: readonly string[], leftEmpty: ReadonlySet<string>, flags: SshFlags): Promise<SnSyncResult[]> {
  const command = ctx.config["sn.sync_command"];
  return eachBounded(sns, FANOUT, (sn) => syncOne(ctx, sn, command, leftEmpty.has(sn), flags), ctx.signal);
}

async function syncOne(ctx: Context, sn: string, command: string, leftEmpty: boolean, flags: SshFlags): Promise<SnSyncResult> {
  let session: Awaited<ReturnType<typeof connect>>;
  try {
    session = await connect({ ...nodeTarget(ctx, sn, flags), acceptNewHostKey: false }, { signal: ctx.signal, log: ctx.log, readyTimeoutMs: 15_000 });
  } catch (e) {
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    return { sn, ok: false, exit: null, message: (e as Error).message };
  }
  try {
    ctx.log.info(`${sn}: running '${command}'`);
    const p = await session.exec(command);
    const relay = lineRelay((line) => ctx.log.info(`${sn}: ${line}`));
    const relayErr = lineRelay((line) => ctx.log.info(`${sn}: ${line}`));
    p.channel.on("data", relay.push);
    p.channel.stderr.on("data", relayErr.push);
    p.channel.end();
    const onAbort = () => p.kill();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    let code: number | null;
    try {
      code = (await p.done).code;
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      relay.flush();
      relayErr.flush();
    }
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    return verdict(sn, command, code, leftEmpty);
  } catch (e) {
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    return { sn, ok: false, exit: null, message: (e as Error).message };
  } finally {
    session.close();
  }
}

/** What the SN's exit status (sn sync's documented codes) means for this move. */
function verdict(sn: string, command: string, code: number | null, leftEmpty: boolean): SnSyncResult {
  if (code === ExitCode.OK) return { sn, ok: true, exit: 0 };
  // the move took this SN's last node: its sync refuses to render nothing and keeps its old
  // files, which is what the move expects (docs/service-nodes.md)
  if (code === ExitCode.NOT_FOUND && leftEmpty)
    return { sn, ok: true, exit: code, message: "serves no node now; its old boot files and DHCP entries stay until 'xcimg dhcp -d' there" };
  const why: Record<number, string> = {
    [ExitCode.PARTIAL]: "synced in part (some images failed; its output above says which)",
    [ExitCode.UNAVAILABLE]: "could not reach the management node or its host key is not pinned there",
    [ExitCode.BUSY]: "another sn sync is running there; run it again once that one ends",
    [ExitCode.NOT_FOUND]: "serves no node by its names (set sn.name in its configuration)",
    127: `'${command}' is not installed there (set sn.sync_command)`,
  };
  const message = code === null ? "the sync was stopped by a signal" : (why[code] ?? `the sync failed with exit ${code}`);
  return { sn, ok: false, exit: code, message };
}

/** Splits a byte stream into lines; a partial last line waits for flush(). */
function lineRelay(emit: (line: string) => void): { push: (d: Buffer) => void; flush: () => void } {
  let rest = "";
  return {
    push: (d) => {
      const parts = (rest + d.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const l of parts) if (l.trim()) emit(printable(l));
    },
    flush: () => {
      if (rest.trim()) emit(printable(rest));
      rest = "";
    },
  };
}

/** An SN's output reaches the admin's terminal: no escape sequences or other control bytes from it. */
const printable = (line: string) => line.replace(/\r$/, "").replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "?");
