import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { authorizedKeys } from "../boot/site";
import type { Context } from "../context";
import { findImage, type Image } from "../defs/image";
import { readNodes } from "../defs/node";
import type { Attrs } from "../defs/object";
import { NotFoundError, UsageError, XcimgError } from "../errors";
import { expandNoderangeInterruptibly } from "../noderange/interruptible";
import { NodeTrust } from "../remote/node-ssh";
import { shq } from "../remote/shell";
import { connect, type RemoteSession } from "../remote/ssh";
import type { SshFlags } from "../remote/target";
import { applySync, type SyncReport } from "../synclist/apply";
import { imageSynclists, readSynclist } from "../synclist/locate";
import { NodeTarget } from "../synclist/node-target";
import type { Synclist } from "../synclist/parse";
import { planSync } from "../synclist/plan";
import { BUILTIN_SCRIPT_NAMES, builtinFiles } from "./builtins";
import { exportLines, postscriptEnv } from "./environment";
import { eachBounded, FANOUT } from "./fanout";
import { BUILT_IN_NETBOOT, isPostscriptName, nodePostscripts, type Postscript, parsePostscripts, postscriptLines } from "./order";
import { RUNNER_PATH, RUNNER_SCRIPT } from "./runner";
import { NO_KEY } from "./trust";

/**
 * `xcimg updatenode <noderange> [-k] [-F] [-P [scripts]]`: xCAT's updatenode without xcatd, over
 * SSH from the management node, many nodes at once (bounded fan-out). Each node is trusted only
 * with the host key xcimg gave it (boot, clone). In xCAT's order:
 *   -k  root's authorized_keys on the node from the management node's keys (as boot writes them)
 *   -F  the node's image's synclists (its entries for every node and those whose noderange names it)
 *   -P  the named postscripts, or all of the node's postscripts then postbootscripts, each sent from
 *       <installdir>/postscripts with its mypostscript (UPDATENODE=1) and run by the same runner as at boot;
 *       xcimg's own scripts for xCAT's default postscripts (builtins.ts) are sent instead of a file
 */
export interface UpdateRequest {
  nodes: string[];
  keys: boolean;
  sync: boolean;
  /** undefined: no -P; null: -P with no names (all); else the named entries. */
  scripts?: Postscript[] | null;
  ssh: SshFlags;
  concurrency?: number;
}

export interface NodeResult {
  node: string;
  ok: boolean;
  keys?: boolean;
  sync?: Pick<SyncReport, "changed" | "appended" | "merged" | "warnings" | "ran">;
  scripts?: { ran: string[]; failed: string[] };
  error?: string;
}

export function parseScriptsArg(v: string | undefined): Postscript[] | null {
  if (v === undefined || v.trim() === "") return null;
  const list = parsePostscripts(v);
  for (const p of list)
    if (!isPostscriptName(p.name)) throw new UsageError(`'${p.name}' is not a postscript name`, { hint: "name a file of <installdir>/postscripts" });
  return list;
}

export async function updateNodes(ctx: Context, req: UpdateRequest): Promise<NodeResult[]> {
  const db = ctx.db();
  const attrs = readNodes(db, req.nodes);
  if (req.scripts) {
    for (const p of req.scripts) {
      if (!BUILTIN_SCRIPT_NAMES.includes(p.name) && !existsSync(join(ctx.config.installdir, "postscripts", p.name)))
        throw new NotFoundError(`${p.name} is not in ${join(ctx.config.installdir, "postscripts")}`, { hint: "copy the script there first" });
    }
  }
  // synclists and their noderanges, read once for all nodes
  const lists = new Map<string, Synclist[]>();
  const ranges = new Map<string, Set<string>>();
  if (req.sync) {
    for (const a of attrs.values()) {
      const img = imageOf(ctx, a);
      if (!img || lists.has(img.name)) continue;
      const l = imageSynclists(ctx.config, img).map(readSynclist);
      lists.set(img.name, l);
      for (const s of l)
        for (const q of [...s.entries, ...s.execute, ...s.executeAlways])
          if (q.nodes && !ranges.has(q.nodes)) ranges.set(q.nodes, new Set(await expandNoderangeInterruptibly(ctx, q.nodes)));
    }
  }
  const keys = req.keys ? authorizedKeys(ctx.config, ctx.log) : "";
  const trust = new NodeTrust(ctx);
  try {
    return await eachBounded(
      req.nodes,
      req.concurrency ?? FANOUT,
      async (node) => {
        const res: NodeResult = { node, ok: false };
        const a = attrs.get(node);
        if (!a) return { ...res, error: "is not a defined node" };
        if (!trust.hasKey(node)) return { ...res, error: NO_KEY };
        try {
          const session = await connect(trust.target(ctx, node, req.ssh), { signal: ctx.signal, readyTimeoutMs: 15_000 });
          try {
            if (req.keys) {
              await pushKeys(session, keys);
              res.keys = true;
            }
            if (req.sync) {
              const img = imageOf(ctx, a);
              const target = new NodeTarget(session);
              const sum: NonNullable<NodeResult["sync"]> = { changed: [], appended: [], merged: [], warnings: [], ran: [] };
              for (const l of (img && lists.get(img.name)) || []) {
                const r = await applySync(
                  planSync(l, (q) => ranges.get(q)?.has(node) ?? false),
                  target,
                );
                sum.changed.push(...r.changed);
                sum.appended.push(...r.appended);
                sum.merged.push(...r.merged);
                sum.warnings.push(...r.warnings);
                sum.ran.push(...r.ran);
              }
              res.sync = sum;
              const bad = sum.ran.filter((x) => x.code !== 0);
              if (bad.length) throw new SyncScriptError(`synclist script ${bad.map((b) => `${b.script} (exit ${b.code})`).join(", ")} failed`);
            }
            if (req.scripts !== undefined) {
              res.scripts = await runScripts(ctx, session, node, a, req.scripts);
              if (res.scripts.failed.length)
                throw new SyncScriptError(`postscript ${res.scripts.failed.join(" ")} failed (see /var/log/xcat/xcat.log on the node)`);
            }
          } finally {
            session.close();
          }
          res.ok = true;
        } catch (e) {
          if (!(e instanceof XcimgError) || ctx.signal.aborted) throw e;
          res.error = e.message;
        }
        return res;
      },
      ctx.signal,
    );
  } finally {
    trust.close();
  }
}

/** A script that ran and failed on the node: that node failed, the others go on. */
class SyncScriptError extends XcimgError {
  override readonly name = "SyncScriptError";
}

function imageOf(ctx: Context, a: Attrs): Image | null {
  const name = a.provmethod;
  return name ? findImage(ctx.db(), name) : null;
}

async function pushKeys(s: RemoteSession, keys: string): Promise<void> {
  if (!keys)
    throw new NotFoundError("no public key on this management node to give the node (ssh.identity.pub, <installdir>/postscripts/_ssh/authorized_keys)");
  const r = await s.run(
    "set -e; umask 077; mkdir -p /root/.ssh; cat >/root/.ssh/authorized_keys.xcimg; mv -f /root/.ssh/authorized_keys.xcimg /root/.ssh/authorized_keys",
    { stdin: keys },
  );
  if (r.code !== 0) throw new NotFoundError(`cannot write root's authorized_keys on ${s.where}: ${r.stderr.trim()}`);
}

async function upload(s: RemoteSession, path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = shq(`${path}.xcimg-new`);
  const r = await s.run(`set -e; mkdir -p "$(dirname ${shq(path)})"; cat >${tmp}; chmod ${mode.toString(8)} ${tmp}; mv -f ${tmp} ${shq(path)}`, {
    stdin: data,
  });
  if (r.code !== 0) throw new NotFoundError(`cannot write ${path} on ${s.where}: ${r.stderr.trim()}`);
}

async function runScripts(ctx: Context, s: RemoteSession, node: string, a: Attrs, named: Postscript[] | null): Promise<{ ran: string[]; failed: string[] }> {
  const img = imageOf(ctx, a) ?? { name: a.provmethod ?? "", attrs: {} };
  let list: Postscript[];
  if (named) list = named;
  else {
    const all = nodePostscripts(ctx.config, ctx.db(), img.attrs, a, BUILT_IN_NETBOOT, BUILTIN_SCRIPT_NAMES);
    if (all.missing.length) ctx.log.warn(`${node}: not in ${join(ctx.config.installdir, "postscripts")}, not run: ${all.missing.join(" ")}`);
    list = [...all.run, ...all.boot];
  }
  const state = (a.currstate ?? "").split(" ")[0] || img.attrs.provmethod || "";
  const vars = postscriptEnv(ctx.config, ctx.db(), { node, attrs: a, image: img, state, master: a.xcatmaster || ctx.config.master, updatenode: true });
  await upload(s, RUNNER_PATH, RUNNER_SCRIPT, 0o755);
  await upload(s, "/xcatpost/mypostscript", `# written by xcimg updatenode\n${exportLines(vars)}`, 0o600);
  const names = new Set(list.map((p) => p.name));
  const own = builtinFiles(names);
  for (const f of own) await upload(s, `/${f.name}`, typeof f.data === "string" ? f.data : Buffer.from(f.data ?? ""), f.mode & 0o777);
  for (const name of names)
    if (!BUILTIN_SCRIPT_NAMES.includes(name)) await upload(s, `/xcatpost/${name}`, readFileSync(join(ctx.config.installdir, "postscripts", name)), 0o755);
  await upload(s, "/xcatpost/xcimg-updatenode.list", list.length ? `${postscriptLines(list)}\n` : "", 0o644);
  const r = await s.run(`/bin/sh ${RUNNER_PATH} run /xcatpost/xcimg-updatenode.list`, { signal: ctx.signal });
  const out = r.stdout.toString("utf8").trim().split("\n").pop() ?? "";
  const failed = out.startsWith("failed:") ? out.slice(7).trim().split(/\s+/).filter(Boolean) : r.code === 0 ? [] : [`(runner exit ${r.code})`];
  return { ran: list.map((p) => p.name), failed };
}

export function resultLine(r: NodeResult): string {
  if (!r.ok) return `${r.node}: failed: ${r.error}`;
  const parts: string[] = [];
  if (r.keys) parts.push("authorized_keys refreshed");
  if (r.sync)
    parts.push(
      `${r.sync.changed.length} file(s) synced${r.sync.appended.length ? `, appended to ${r.sync.appended.join(" ")}` : ""}${r.sync.merged.length ? `, merged into ${r.sync.merged.join(" ")}` : ""}${r.sync.ran.length ? `, ran ${r.sync.ran.map((x) => x.script).join(" ")}` : ""}`,
    );
  if (r.scripts) parts.push(`ran ${r.scripts.ran.length ? r.scripts.ran.join(" ") : "no postscripts"}`);
  return `${r.node}: ok: ${parts.join("; ")}`;
}
