import { rmSync } from "node:fs";
import { join } from "node:path";
import { leaf, output } from "../../cli/command";
import type { Context } from "../../core/context";
import { openDb } from "../../core/db/open";
import { getImage } from "../../core/defs/image";
import { ExitCode, UsageError, XcimgError } from "../../core/errors";
import { acquireLock } from "../../core/fs/lock";
import { treeIsNfsRoot } from "../../core/image/tree-barrier";
import { SIGNATURE_SUFFIX } from "../../core/provenance/manifest";
import type { RemoteSession } from "../../core/remote/ssh";
import { type ImagePull, pullImage } from "../../core/sn/image-pull";
import { partialRoot } from "../../core/sn/partial";
import { placedImages, placedNodes, servingNow } from "../../core/sn/placed";
import { postscriptsJob } from "../../core/sn/postscripts";
import { findStale, keepStale, pruneStale, type StaleReport, staleLines } from "../../core/sn/prune";
import { requireRsync } from "../../core/sn/rsync";
import { servedOrEmptied, snNames } from "../../core/sn/served";
import { readServedRecord, type ServedRecord, writeServedRecord } from "../../core/sn/served-record";
import { commitDefinitions, fetchDefinitions, localiseImages, planImages, pullBundleRecord, pullHostKeys, stagedDbPath } from "../../core/sn/sync";
import { mnConnect, mnRun, mnTarget, sshCommand, startMux } from "../../core/sn/transport";
import { pulledImageTrust } from "../../core/sn/trust";
import { dhcpLines, planDhcp, type SnDhcpOutput, snDhcp } from "./dhcp";
import { renderServed } from "./render";

export default leaf({
  name: "sn sync",
  description: "on a service node: pull the definitions and the images of the nodes it serves from the management node, then write their boot files",
  args: {
    mn: { type: "string", description: "the management node (default: sn.mn / XCIMG_SN_MN)" },
    sn: { type: "string", description: "this SN's name(s) in noderes.servicenode/xcatmaster, comma-separated (default: sn.name, else the host name)" },
    dryRun: { type: "boolean", description: "show what would be fetched and rendered; change nothing" },
    reload: { type: "boolean", description: "run the DHCP server's reload after a change (default: print it)" },
    prune: {
      type: "boolean",
      description: "after a complete sync, remove the images, clone archives and node boot files earlier syncs placed here that this SN no longer serves",
    },
    force: {
      type: "boolean",
      description: "with --prune: also remove a stale NFS-root image and the replaced generations kept for NFS-root nodes (running nodes may still use them)",
    },
  },
  examples: [
    "xcimg sn sync                         # from a bootstrap script or a systemd timer (docs/service-nodes.md)",
    "XCIMG_SN_MN=mn1 XCIMG_MASTER=10.1.0.1 xcimg sn sync --sn sn1",
    "xcimg --json sn sync --dry-run",
    "xcimg sn sync --prune                 # also remove what it no longer serves (the report says what)",
  ],
  async run(ctx, args) {
    if (args.force && !args.prune) throw new UsageError("--force only applies with --prune", { hint: "xcimg sn sync --prune --force" });
    requireRsync();
    const names = snNames(args.sn || ctx.config["sn.name"]);
    const lock = acquireLock(ctx.config.installdir, "sn sync", "xcimg sn sync");
    try {
      return await sync(ctx, names, args.mn, {
        dryRun: Boolean(args.dryRun),
        reload: Boolean(args.reload),
        prune: Boolean(args.prune),
        force: Boolean(args.force),
      });
    } finally {
      lock.release();
    }
  },
});

interface SyncOptions {
  dryRun: boolean;
  reload: boolean;
  prune: boolean;
  force: boolean;
}

async function sync(ctx: Context, names: string[], mn: string | undefined, { dryRun, reload, prune, force }: SyncOptions) {
  const pinned = mnTarget(ctx, { mn });
  // what earlier syncs placed here: the only things a prune may remove
  const prev = readServedRecord(ctx.config);
  const staged = stagedDbPath(ctx.config);
  rmSync(staged, { force: true });
  const session = await mnConnect(ctx, pinned);
  // after the host key was checked above: one connection for every rsync of this sync
  const mux = startMux(pinned);
  const t = mux.target;
  let committed = false;
  try {
    const clock = phaseClock();
    const defs = await fetchDefinitions(ctx, session, t, staged, names);
    clock.mark("definitions");
    const db = openDb(staged);
    let closed = false;
    try {
      const served = servedOrEmptied(db, names, Object.keys(prev.nodes), prune, (m) => ctx.log.warn(m));
      const { plans, failed } = planImages(db, served, defs.snap, ctx.config);
      for (const n of served.noImage) failed[n] = "names no image in nodetype.provmethod on the management node";
      const pulls: ImagePull[] = [];
      const ssh = sshCommand(t);
      for (const p of plans) {
        try {
          // a directory the MN has not made yet (no clone prepared there): nothing to pull, the served copy stays
          const own = await Promise.all(
            p.own.map(async (d) => ((await mnRun(session, ["test", "-d", d.from as string])).code === 0 ? d : { ...d, from: null })),
          );
          const manifest =
            p.manifest && (await mnRun(session, ["test", "-f", p.manifest.from as string])).code !== 0 ? { ...p.manifest, from: null } : p.manifest;
          const signed = manifest?.from ? (await mnRun(session, ["test", "-f", `${manifest.from}${SIGNATURE_SUFFIX}`])).code === 0 : false;
          // an image with no directory of its own on the MN (install: it points at its media)
          const from = (await mnRun(session, ["test", "-d", p.from])).code === 0 ? p.from : null;
          const r = await pullImage({
            image: p.image,
            host: t.host,
            from,
            dir: p.dir,
            partials: partialRoot(ctx.config),
            // running NFS-root nodes hold the served generation's inodes: it is kept, not removed
            keepOld: treeIsNfsRoot(getImage(db, p.image)),
            own,
            resolve: p.resolve,
            manifest: manifest && { ...manifest, signed },
            trust: pulledImageTrust(ctx, p.image),
            ssh,
            dryRun,
            signal: ctx.signal,
            // drawn only on a TTY (the logger's rule); a timer's journal gets the summary line below
            onProgress: (pr) => ctx.log.progress(`${p.image}: ${pr.percent}%, ${mb(pr.bytes)} at ${pr.rate}`),
          }).finally(() => ctx.log.progressDone());
          pulls.push(r);
          if (r.kept) ctx.log.info(`${p.image}: its nodes mount it over NFS: the generation it replaced stays at ${r.kept} for the nodes still running it`);
          if (!ctx.quiet)
            ctx.log.info(`${p.image}: ${dryRun ? "would fetch" : "fetched"} ${r.stats.filesTransferred} file(s), ${r.stats.received} bytes received`);
          ctx.log.debug(`${p.image}: ${phaseLine(r.seconds)}`);
        } catch (e) {
          if (!(e instanceof XcimgError) || e.exitCode === ExitCode.UNAVAILABLE || e.exitCode === ExitCode.INTERRUPTED) throw e;
          ctx.log.error(`${p.image}: ${e.message}`);
          // its nodes keep what this SN served them before, if anything
          for (const n of p.nodes) failed[n] = `image ${p.image} not updated: ${e.message}`;
        }
      }
      // the postscripts the nodes fetch from their server, and the MN's keys for them
      const problems: string[] = [];
      try {
        const r = await pullImage(postscriptsJob(ctx.config, defs.snap, t.host, ssh, dryRun, ctx.signal));
        pulls.push(r);
      } catch (e) {
        if (!(e instanceof XcimgError) || e.exitCode === ExitCode.UNAVAILABLE || e.exitCode === ExitCode.INTERRUPTED) throw e;
        ctx.log.error(`postscripts: ${e.message}`);
        problems.push(`postscripts not updated: ${e.message}`);
      }
      clock.mark("images");
      const images = new Map(plans.map((p) => [p.image, p.nodes.filter((n) => !failed[n])]));
      const result = {
        mn: t.host,
        sn: names,
        dryRun,
        definitions: { sha256: defs.snap.sha256, size: defs.snap.size },
        images: pulls.map((r) => ({
          image: r.image,
          from: r.from,
          dir: r.dir,
          switched: r.switched,
          unchanged: r.unchanged ?? false,
          received: r.stats.received,
          files: r.stats.filesTransferred,
          verified: r.verified,
          changes: dryRun ? r.stats.changes : undefined,
          seconds: r.seconds,
        })),
        seconds: clock.seconds,
        booted: [] as { node: string; currstate: string; loader: string }[],
        skipped: {} as Record<string, string>,
        dhcp: null as SnDhcpOutput | null,
        stale: { images: [], nodes: [], generations: [] } as StaleReport,
        failed,
        problems,
      };
      const dhcpPlan = planDhcp(ctx, db, names, [...served.nodes.keys(), ...served.noImage], problems);
      const partial = () => (Object.keys(failed).length || problems.length ? ExitCode.PARTIAL : ExitCode.OK);
      if (dryRun) {
        result.dhcp = { ...dhcpPlan, written: [], removed: [], reload: [] };
        result.stale = findStale(ctx.config, prev, servingNow(ctx.config, served, plans, prev));
        warnStale(ctx, result.stale, false, true);
        const lines = [...images].flatMap(([img, nodes]) => nodes.map((n) => `${n}: would boot ${img} from this SN`));
        lines.push(...dhcpLines(dhcpPlan, true));
        return output(result, lines, partial());
      }
      // recorded before anything is rendered: a sync killed from here on still knows what it switched in
      const synced = new Set(pulls.filter((r) => r.switched || r.unchanged).map((r) => r.image));
      const kept = new Map(pulls.flatMap((r) => (r.kept ? [[r.image, r.kept] as const] : [])));
      const placed: ServedRecord = { images: { ...prev.images, ...placedImages(ctx.config, db, plans, synced, prev, kept) }, nodes: prev.nodes };
      writeServedRecord(ctx.config, placed);
      const keys = await pullHostKeys(ctx, t, defs.snap);
      await pullBundleRecord(ctx, session, t, defs.snap);
      ctx.log.debug(`${keys} node host key(s) from the management node`);
      db.write(() => localiseImages(db, plans, defs.snap.installdir, ctx.config.installdir));
      // generation directories: a node booting while this sync switches an image gets the old or the new files, never both (core/boot/generations.ts)
      clock.mark("keys");
      const rendered = await renderServed({ ...ctx, config: { ...ctx.config, "boot.generations": true }, db: () => db }, images);
      clock.mark("render");
      Object.assign(failed, rendered.failed);
      result.booted = rendered.booted.map((b) => ({ node: b.node, currstate: b.currstate, loader: b.loader }));
      result.skipped = rendered.skipped;
      result.dhcp = snDhcp({ ...ctx, db: () => db }, dhcpPlan, new Set([...served.nodes.keys(), ...served.noImage]), reload, failed, problems);
      clock.mark("dhcp");
      const next: ServedRecord = { images: placedImages(ctx.config, db, plans, synced, prev, kept), nodes: placedNodes(rendered.booted, served, prev) };
      db.close();
      closed = true;
      commitDefinitions(staged, ctx.config["db.path"]);
      committed = true;
      for (const [n, why] of Object.entries(failed)) ctx.log.error(`${n}: ${why}`);
      const now = servingNow(ctx.config, served, plans, prev, next);
      // `placed`: what earlier syncs left, and the generations this one kept
      result.stale = findStale(ctx.config, placed, now);
      const complete = partial() === ExitCode.OK;
      if (prune && complete) pruneStale(ctx.config, ctx.log, result.stale, now, force, problems);
      else if (prune && (result.stale.images.length || result.stale.nodes.length || result.stale.generations.length))
        ctx.log.warn("not pruning: this sync did not complete (exit 1), so what it no longer serves is kept until a sync that does");
      writeServedRecord(ctx.config, keepStale(next, prev, result.stale));
      warnStale(ctx, result.stale, prune && complete, false);
      for (const p of problems) if (p.includes("not pruned")) ctx.log.error(p);
      clock.mark("commit");
      ctx.log.debug(`sn sync: ${phaseLine(clock.seconds)}`);
      await reportFinished(ctx, session, names, defs.snap.sha256, partial());
      const lines = [
        ...result.booted.map((b) => `${b.node}: ${b.currstate} (from this SN)`),
        ...Object.entries(result.skipped).map(([n, why]) => `${n}: ${why}`),
        ...dhcpLines(dhcpPlan, false, failed),
      ];
      return output(result, lines, partial());
    } finally {
      if (!closed) db.close();
    }
  } finally {
    session.close();
    mux.close();
    if (!committed) rmSync(staged, { force: true });
    rmSync(join(staged, "..", ".sn-snapshot.db.new-journal"), { force: true });
  }
}

/** Seconds per phase of the whole sync, in order (docs/bench/sn.md reads them from --json). */
function phaseClock() {
  const seconds: Record<string, number> = {};
  let t0 = performance.now();
  return {
    seconds,
    mark(name: string) {
      const now = performance.now();
      seconds[name] = Math.round(now - t0) / 1000;
      t0 = now;
    },
  };
}

function phaseLine(seconds: Record<string, number | undefined>): string {
  return Object.entries(seconds)
    .map(([k, v]) => `${k} ${(v ?? 0).toFixed(2)} s`)
    .join(", ");
}

/** A warning per stale item still held (with how to remove it), an info line per item removed. */
function warnStale(ctx: Context, stale: StaleReport, pruned: boolean, dryRun: boolean): void {
  const { warn, info } = staleLines(stale, pruned, dryRun);
  for (const l of warn) ctx.log.warn(l);
  if (!ctx.quiet) for (const l of info) ctx.log.info(l);
}

/** Tell the MN this sync ended, for its `sn status` (sync-record.ts); a failure to tell is only a warning. */
async function reportFinished(ctx: Context, session: RemoteSession, names: string[], sha256: string, code: number): Promise<void> {
  const argv = [ctx.config["sn.remote_xcimg"], "sn", "snapshot", "--sn", names.join(","), "--finished", sha256, "--exit", String(code)];
  const r = await mnRun(session, argv).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
  if (r.code !== 0) ctx.log.warn(`could not tell the management node that this sync finished: ${r.stderr.trim().split("\n")[0] ?? ""}`);
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
