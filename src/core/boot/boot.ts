import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { buildId } from "../build-id";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { requireAttr } from "../defs/image";
import { NODE_TYPE, readNodes } from "../defs/node";
import { type Attrs, writeObject } from "../defs/object";
import { publishBootLoaders } from "../dhcp/loaders";
import { DataError, fsError } from "../errors";
import { safeNodeFileName } from "../names";
import { imageHasSystemd, nodeScriptFiles, sharedScriptData } from "../postscripts/node-files";
import { phaseTimer } from "../timing";
import { BootFileCache } from "./boot-files";
import { writeNodeRows } from "./boot-rows";
import { safeIp, safeMac } from "./boot-values";
import { type BootFlavor, type NodeBootInput, NodeError, nodeBootInput, type OverlayFlavor } from "./flavor";
import { HostKeyStore } from "./hostkeys";
import { inspectImage } from "./image-facts";
import { fullKcmdline, KcmdlineError } from "./kcmdline";
import { checkLoaderJob, Grub2Links, LoaderError, type LoaderJob, removeNodeBootFiles, writeLoader } from "./loader-files";
import type { BootFiles } from "./loaders";
import { dashedMac, hexIp } from "./loaders";
import { bootMac, firstMac } from "./mac";
import { inputsDigest, nodeDigest } from "./node-inputs";
import { NodeRecord } from "./node-record";
import { type NodeNetwork, nodeOverlay, type OverlayInput } from "./overlay";
import { bootPaths, overlayRel, stateDir } from "./paths";
import { servedPerms } from "./served-perms";
import { authorizedKeys, type SiteSettings, siteSettings } from "./site";

/** From this many nodes on, boot's files are written by a second thread (file-writer.ts); fewer are not worth its start. */
const THREADED_FROM = 200;

export interface NodeBooted {
  node: string;
  currstate: string;
  loader: string;
  files: string[];
  /** hosts.ip: the only address its per-node files are served to (node-acl.ts). */
  ip?: string;
}

export interface BootResult {
  image: string;
  booted: NodeBooted[];
  /** node → reason, for nodes that got nothing. */
  failed: Record<string, string>;
  hostKeysCreated: number;
  /** Nodes whose rows (and host key) were written but whose boot files their service node writes (BootOptions.rowsOnly). */
  rowsOnly: string[];
}

export interface BootOptions {
  /**
   * Nodes a service node serves (core/sn/served.ts servingSns) on a management node without
   * site.sharedtftp: their boot files are the SN's to render (`xcimg sn sync`), so nothing of
   * theirs goes into this tftpdir. Their rows and host keys are written all the same: the
   * SN's snapshot of the definitions carries them (xCAT's nodeset likewise updates the
   * MN's tables and leaves the files to the SN's own xcatd).
   */
  rowsOnly?: ReadonlySet<string>;
}

/**
 * xCAT `nodeset <noderange> osimage=<image>`, whatever the provisioning method: for every node
 * its boot loader file (chosen by its effective noderes.netboot: xnba, grub2, grub2-tftp,
 * grub2-http or pxe), its identity overlay when the method has one, and nodetype.provmethod,
 * chain.currstate and bootparams. What varies by method comes from its BootFlavor (flavor.ts).
 * Node attributes are read in one batch and written in one transaction; nothing is spawned per
 * node; a node with a problem is reported with its reason and the others are booted.
 */
export async function bootNodes(ctx: Context, img: Image, nodes: readonly string[], flavor: BootFlavor, opts: BootOptions = {}): Promise<BootResult> {
  const cfg = ctx.config;
  const db = ctx.db();
  const phase = phaseTimer(ctx.log, "boot");
  const osvers = requireAttr(img, "osvers");
  const osarch = requireAttr(img, "osarch");
  const profile = img.attrs.profile ?? "";
  const ov = flavor.overlay;
  const facts = ov ? inspectImage(ov.rootimg) : undefined;
  const systemd = ov?.postscripts ? imageHasSystemd(ov.rootimg) : false;
  const site = siteSettings(db);
  const perms = ov ? servedPerms(site.webgroup) : undefined;
  if (perms?.warning) ctx.log.warn(perms.warning);
  const keys = ov ? authorizedKeys(cfg, ctx.log) : "";
  const attrs = readNodes(db, nodes);
  phase(`read ${nodes.length} nodes' attributes`);
  const currstate = flavor.currstate;
  const state = currstate.split(" ")[0] as string;
  const result: BootResult = { image: img.name, booted: [], failed: {}, hostKeysCreated: 0, rowsOnly: [] };
  const rows: { node: string; kcmdline: string; initrd: string }[] = [];
  const failed = (node: string, e: unknown) => {
    if (e instanceof NodeError || e instanceof KcmdlineError || e instanceof LoaderError || e instanceof DataError) result.failed[node] = e.message;
    else throw e;
  };

  // What every method needs of a node, checked before the method's own work sees it.
  const checked: NodeBootInput[] = [];
  for (const node of nodes) {
    try {
      const a = attrs.get(node);
      if (!a) throw new NodeError("is not a defined node");
      safeNodeFileName(node); // before the host key store or any file sees it
      const mac = bootMac(node, a);
      if (!mac) throw new NodeError("No MAC address available for this node");
      // file names of every loader (loader-files.ts checks them again): before the method renders anything for the node
      safeMac(mac);
      if (a.ip) safeIp(a.ip);
      checked.push(nodeBootInput(node, a, site, mac));
    } catch (e) {
      failed(node, e);
    }
  }
  const prepFailed = checked.length && flavor.prepare ? await flavor.prepare(checked) : {};
  Object.assign(result.failed, prepFailed);
  const ready = checked.filter((n) => !(n.node in prepFailed));
  if (ready.length === 0) return result;
  const published = flavor.published();
  // only now: a method that refuses the whole command in prepare (install's template policy) leaves the site as it was
  const paths = bootPaths(cfg.tftpdir);
  for (const d of Object.values(paths)) mkdirQuiet(d);
  publishBootLoaders(ctx); // once per run, not per node
  // many nodes: their files are written by a second thread while this one renders (file-writer.ts)
  const files = new BootFileCache(stateDir(cfg), ready.length >= THREADED_FROM);
  const grub2Inodes = new Grub2Links(paths.grub2Dir, (p) => files.exists(p));
  const hostKeys = new HostKeyStore(stateDir(cfg));
  phase("load host keys and the boot-file record");

  // Two passes. The first checks every node and builds its loader job, so a node with a bad
  // value gets no host key, overlay or loader file. Between them the host keys of the good nodes
  // are saved (fsynced, atomically) BEFORE any overlay carries them: a boot killed halfway must
  // not have handed out keys the store does not have, or the re-run would give those nodes new
  // keys and every known_hosts entry for them would break.
  type Extra = ReturnType<NonNullable<OverlayFlavor["extra"]>> | undefined;
  type Planned = { n: NodeBootInput; job: LoaderJob; net: NodeNetwork; extra: Extra; base: string };
  const planned: Planned[] = [];
  for (const n of ready) {
    const { node, attrs: a, mac } = n;
    try {
      const bootFiles: BootFiles = { kernel: published.kernel, initrds: [...published.initrds, ...(ov ? [overlayRel(node)] : [])] };
      const base = flavor.kcmdline(n);
      const kcmdline = flavor.bootKcmdline ? flavor.bootKcmdline(base, n) : fullKcmdline(base, a.addkcmdline, img.attrs.addkcmdline);
      const loader = a.netboot || "xnba";
      const extra = ov?.extra?.(n);
      const net = { ...nodeNetwork(mac, a, site), ...extra?.net };
      const job: LoaderJob = {
        node,
        loader,
        currstate,
        kcmdline,
        files: bootFiles,
        mac,
        ip: a.ip,
        arch: a.arch || osarch,
        xcatmaster: a.xcatmaster,
        published,
        site,
        doneMarker: flavor.doneMarker?.(n),
      };
      checkLoaderJob(ctx, job);
      planned.push({ n, job, net, extra, base });
    } catch (e) {
      failed(node, e);
    }
  }
  phase(`check ${nodes.length} nodes`);
  if (ov) {
    // a first boot of many nodes: the writer thread makes half of the new keys meanwhile
    // (only then is the thread started before the first file: an unchanged re-run starts none)
    const missing = planned.filter((p) => !hostKeys.has(p.n.node));
    const thread = missing.length >= THREADED_FROM ? files.thread() : null;
    const theirs = thread ? missing.slice(Math.ceil(missing.length / 2)) : [];
    const made = theirs.length ? thread?.makeKeys(theirs.map((p) => `root@${p.n.node}`)) : undefined;
    const mine = new Set(theirs);
    for (const p of planned) if (!mine.has(p)) hostKeys.get(p.n.node, hostKeyNames(p.n.attrs));
    if (made) for (const [i, k] of made().entries()) hostKeys.adopt((theirs[i] as Planned).n.node, k, hostKeyNames((theirs[i] as Planned).n.attrs));
    phase(`make ${hostKeys.created} host keys`);
    hostKeys.save();
    result.hostKeysCreated = hostKeys.created;
    phase("save host keys (fsync)");
  }

  // the site's rows every node's mypostscript repeats: read once, not once per node
  const scriptData = ov?.postscripts ? sharedScriptData(cfg, db) : undefined;
  /** What boot writes into the node's rows (below), the same for every node but its command line and initrds. */
  const rowAttrsOf = (r: (typeof rows)[number]): Attrs => ({
    provmethod: img.name,
    os: osvers,
    arch: osarch,
    profile,
    currstate,
    kernel: published.kernel,
    initrd: r.initrd,
    kcmdline: r.kcmdline,
    ...flavor.rowAttrs,
  });
  // A method whose per-node output is all computed above (kcmdline, extra) can have an
  // unchanged node skipped (node-record.ts); one that builds files of its own in prepare,
  // nodeFiles or build renders every node every time.
  const record = buildId && !flavor.prepare && !flavor.nodeFiles && !ov?.build ? new NodeRecord(stateDir(cfg)) : undefined;
  const runKey = record
    ? inputsDigest(buildId, cfg, img.name, img.attrs, currstate, published, facts, systemd, perms, keys, site, scriptInputs(cfg, img, scriptData))
    : "";
  let unchanged = 0;
  // In node order, what each node's outcome becomes once its files are on disk (settle below):
  // its entry in the result, its rows, its record.
  const outcomes: (() => void)[] = [];
  try {
    for (const { n, job, net, extra, base } of planned) {
      const { node } = n;
      const row = { node, kcmdline: base, initrd: job.files.initrds.join(",") };
      if (opts.rowsOnly?.has(node)) {
        outcomes.push(() => {
          result.rowsOnly.push(node);
          rows.push(row);
        });
        record?.forget(node);
        continue;
      }
      // The node's attributes as this run leaves them: what its next run reads back (so an
      // unchanged re-run finds the same inputs) and, as with xCAT's mypostscript made at boot
      // from the tables nodeset updated, what its postscripts' variables are made of.
      const a = afterRun(n.attrs, rowAttrsOf(row));
      const hostKey = ov ? hostKeys.get(node, hostKeyNames(a)) : undefined;
      // job.published and job.site are the run's, already in runKey
      const key = record ? nodeDigest(runKey, node, [a, { ...job, published: 0, site: 0 }, net, extra, hostKey, scriptData?.env.nics?.get(node)]) : "";
      const kept = record?.kept(node, key);
      if (kept) {
        unchanged++;
        if (kept.warning) ctx.log.warn(kept.warning);
        outcomes.push(() => {
          result.booted.push({ node, currstate, loader: job.loader, files: kept.files, ip: a.ip });
          rows.push(row);
        });
        continue;
      }
      try {
        const own: string[] = [];
        let warning: string | undefined;
        if (ov && facts && perms && hostKey) {
          const master = a.xcatmaster || cfg.master;
          const scripts = scriptData ? nodeScriptFiles(cfg, db, { node, attrs: a, image: img, state, master, mac: job.mac, systemd }, scriptData) : undefined;
          warning = scripts?.warning;
          if (warning) ctx.log.warn(warning);
          const identity: OverlayInput = {
            node,
            image: img.name,
            master,
            net,
            hostKey,
            authorizedKeys: keys,
            facts,
            extra: extra?.files,
            postscripts: scripts?.files,
          };
          const overlay = ov.build ? ov.build(identity, n) : nodeOverlay(identity, published.mtime);
          const path = join(cfg.tftpdir, overlayRel(node));
          files.write(path, overlay, perms);
          own.push(path);
        }
        if (flavor.nodeFiles) {
          files.settle(); // the method writes its files itself
          own.push(...flavor.nodeFiles(node));
        }
        const written = writeLoader(ctx, job, paths, grub2Inodes, files);
        const all = [...own, ...written];
        outcomes.push(() => {
          result.booted.push({ node, currstate, loader: job.loader, files: all, ip: a.ip });
          rows.push(row);
          record?.note(node, key, all, warning, (f) => files.signatureOf(f));
        });
      } catch (e) {
        record?.forget(node);
        failed(node, e);
      }
      files.check();
    }
    files.settle();
  } finally {
    files.close();
  }
  for (const o of outcomes) o();

  phase(`write ${files.written} files for ${planned.length} nodes, ${unchanged} unchanged since their last boot`);
  files.save();
  record?.save();
  let changedRows = 0;
  db.write(() => {
    changedRows = writeNodeRows(
      db,
      NODE_TYPE,
      rows.map((r) => ({ node: r.node, attrs: rowAttrsOf(r) })),
    );
  });
  phase(`write ${changedRows} changed rows`);
  return result;
}

export interface OfflineResult {
  offline: { node: string; removed: string[] }[];
  /** node → reason: a name, MAC or IP that cannot be a file name; nothing of that node was removed. */
  failed: Record<string, string>;
}

/** `xcimg boot --offline`: remove every boot file of the nodes; they fall back to their local disk or DHCP default. */
export function offlineNodes(ctx: Context, nodes: readonly string[]): OfflineResult {
  const cfg = ctx.config;
  const db = ctx.db();
  const attrs = readNodes(db, nodes);
  const paths = bootPaths(cfg.tftpdir);
  const grub2 = new Grub2Links(paths.grub2Dir);
  const result: OfflineResult = { offline: [], failed: {} };
  for (const node of nodes) {
    try {
      const a = attrs.get(node) ?? {};
      // every name is checked before the first unlink, so a bad MAC removes nothing at all
      overlayRel(node);
      const mac = firstMac(node, a.mac);
      if (mac) dashedMac(mac);
      if (a.ip) hexIp(a.ip);
      result.offline.push({ node, removed: removeNodeBootFiles(cfg.tftpdir, grub2, { node, mac, ip: a.ip }) });
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      result.failed[node] = e.message;
    }
  }
  db.write(() => {
    for (const { node } of result.offline) if (attrs.has(node)) writeObject(db, NODE_TYPE, node, { currstate: "offline" });
  });
  return result;
}

/**
 * What every node's postscript files are made of besides the node itself: the site rows, the
 * xcatdefaults postscripts, the image's package lists and which scripts <installdir>/postscripts
 * holds (core/postscripts/node-files.ts reads exactly these through SharedScriptData).
 */
function scriptInputs(cfg: Context["config"], img: Image, data: ReturnType<typeof sharedScriptData> | undefined): unknown {
  if (!data) return null;
  let present: string[] = [];
  try {
    present = readdirSync(join(cfg.installdir, "postscripts")).sort();
  } catch {
    // no postscripts directory: none present
  }
  return [data.env.siteVars, data.lookups.defaults, data.env.pkglist(img.attrs.pkglist), data.env.pkglist(img.attrs.otherpkglist), present];
}

/**
 * The node's attributes with boot's own values in place, always in the same key order (its
 * other attributes as read, then boot's), so that the next run, which reads boot's values back
 * from the tables, builds the very same object (node-inputs.ts nodeDigest).
 */
function afterRun(read: Attrs, written: Attrs): Attrs {
  const a: Attrs = {};
  for (const k in read) if (!(k in written)) a[k] = read[k] as string;
  return Object.assign(a, written);
}

/** The names and addresses known_hosts lists a node's key under. */
function hostKeyNames(a: Attrs): string[] {
  return [a.ip ?? "", ...(a.hostnames ?? "").split(/[ ,]+/)];
}

function nodeNetwork(mac: string, a: Attrs, site: SiteSettings): NodeNetwork {
  if (site.staticAddresses && a.ip) {
    return { mac, mode: "static", ip: a.ip, prefix: site.prefix, gateway: site.gateway, dns: site.nameservers };
  }
  return { mac, mode: "dhcp" };
}

function mkdirQuiet(d: string): void {
  try {
    mkdirSync(d, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${d}`);
  }
}
