import { randomBytes } from "node:crypto";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { firstMac } from "../../core/boot/boot";
import { HostKeyStore } from "../../core/boot/hostkeys";
import { inspectImage } from "../../core/boot/image-facts";
import { baseKcmdline, fullKcmdline, KcmdlineError, MYIPFN } from "../../core/boot/kcmdline";
import { Grub2Links, LoaderError, writeLoader } from "../../core/boot/loader-files";
import type { NodeNetwork } from "../../core/boot/overlay";
import { bootPaths, overlayRel, stateDir, urlPath } from "../../core/boot/paths";
import { authorizedKeys, type SiteSettings, siteSettings } from "../../core/boot/site";
import type { Context } from "../../core/context";
import { type Image, requireAttr } from "../../core/defs/image";
import { NODE_TYPE, readNodes } from "../../core/defs/node";
import { type Attrs, writeObject } from "../../core/defs/object";
import { fsError } from "../../core/errors";
import { writeFileIfChanged } from "../../core/fs/atomic";
import { type CloneArtifacts, inspectImageForClone, prepareArtifacts } from "./artifacts";
import { envOverlay, identityFilesOf } from "./env-overlay";
import { planText } from "./format";
import { renderPlanEnv } from "./node-plan";
import { cloneKernelArgs } from "./node-script";
import { groupsOf, overrideChain, packOverride } from "./overrides";
import { type ClonePlan, planFor, type TooSmall } from "./planner";
import { describePostscript, type NodePostscripts, nodePostscripts } from "./postscripts";
import { publishClone } from "./publish";

/**
 * `xcimg clone <noderange> -o <image>`: everything the nodes need to clone themselves at their
 * next network boot, written in one go and no daemon left behind (docs/clone.md):
 *
 *  1. the image's clone files, built once per capture (artifacts.ts) and published for the
 *     boot loaders (publish.ts);
 *  2. per node: its boot loader file (xnba/grub2/pxe, as `xcimg boot` writes them) loading the
 *     image's kernel, the clone environment, xcimg's boot initrd and the node's overlay; the
 *     overlay with its identity and the plan (node-plan.ts); overrides packed as needed;
 *  3. the node rows as xCAT's nodeset sets them: nodetype.provmethod/os/arch/profile,
 *     chain.currstate `sysclone <osvers>-<arch>`, bootparams, nodelist.status `installing`.
 *
 * A node keeps its clone job while it is being cloned (running the command again for more
 * nodes does not restart the others); a node already switched to local boot gets a new job,
 * i.e. is cloned again. With dryRun nothing is written: each node's disk plan is printed.
 */
export interface CloneRequest {
  nodes: string[];
  dryRun: boolean;
  /** Plan --dry-run for disks of this many bytes (default: the golden disk's size). */
  diskBytes?: number;
  /** --disk: the device nodes clone onto. */
  disk?: string;
  /** Seconds a finished node waits for the switch to local boot before rebooting anyway (0: until it comes). */
  waitSeconds: number;
}

export interface NodeCloneInfo {
  node: string;
  job: string | null;
  loader: string;
  currstate: string;
  overrides: string[];
  /** As the tables list them: `name args...`. */
  postscripts: string[];
  postbootscripts: string[];
  warnings: string[];
}

export interface CloneResult {
  image: string;
  dryRun: boolean;
  plan: ClonePlan | TooSmall;
  artifacts: { dir: string; env: string; envBytes: number; archive: string; archiveBytes: number; chunks: number; built: boolean } | null;
  nodes: NodeCloneInfo[];
  failed: Record<string, string>;
  lines: string[];
}

class NodeError extends Error {}

export async function cloneNodes(ctx: Context, img: Image, req: CloneRequest): Promise<CloneResult> {
  const cfg = ctx.config;
  const db = ctx.db();
  const osvers = requireAttr(img, "osvers");
  const osarch = requireAttr(img, "osarch");
  const profile = img.attrs.profile ?? "";
  const inspected = req.dryRun ? inspectImageForClone(ctx, img) : null;
  const art: CloneArtifacts | null = req.dryRun ? null : await prepareArtifacts(ctx, img);
  const layout = (inspected ?? art)?.layout as CloneArtifacts["layout"];
  const tools = (inspected ?? art)?.tools as CloneArtifacts["tools"];
  const entries = (inspected ?? art)?.entries ?? 0;
  const diskBytes = req.diskBytes ?? layout.disk.bytes;
  const plan = planFor(layout, diskBytes, { entries });
  const attrs = readNodes(db, req.nodes);
  const currstate = `sysclone ${osvers}-${osarch}`;
  const result: CloneResult = { image: img.name, dryRun: req.dryRun, plan, artifacts: null, nodes: [], failed: {}, lines: [] };
  const planLines = planText(plan, layout, img.name);
  for (const w of [...layout.warnings, ...layout.notCloned]) ctx.log.warn(w);

  if (req.dryRun) {
    result.lines.push(
      `Disk plan of image ${img.name}${req.diskBytes ? "" : " for a disk the size of the golden node's"} (each node re-plans for its real disk before writing anything):`,
      ...planLines,
    );
    for (const node of req.nodes) {
      const a = attrs.get(node);
      if (!a) {
        result.failed[node] = "is not a defined node";
        continue;
      }
      const { info } = nodeInfo(ctx, img, node, a, null, currstate);
      result.nodes.push(info);
      const extras = [
        info.overrides.length ? `overrides ${info.overrides.join(", ")}` : "",
        info.postscripts.length ? `postscripts ${info.postscripts.join(", ")}` : "",
        info.postbootscripts.length ? `postbootscripts ${info.postbootscripts.join(", ")}` : "",
      ].filter(Boolean);
      result.lines.push(
        `${node}: would clone ${img.name} (${[info.loader, ...extras].join(", ")})${info.warnings.length ? `; ${info.warnings.join("; ")}` : ""}`,
      );
    }
    return result;
  }

  const artifacts = art as CloneArtifacts;
  result.artifacts = {
    dir: artifacts.dir,
    env: artifacts.env,
    envBytes: artifacts.envBytes,
    archive: artifacts.archive,
    archiveBytes: artifacts.archiveBytes,
    chunks: artifacts.chunks,
    built: artifacts.built,
  };
  const published = publishClone(cfg, img, artifacts);
  const facts = inspectImage(artifacts.tree);
  const site = siteSettings(db);
  const keys = authorizedKeys(cfg, ctx.log);
  const paths = bootPaths(cfg.tftpdir);
  for (const d of Object.values(paths)) mkdirQuiet(d);
  const grub2 = new Grub2Links(paths.grub2Dir);
  const hostKeys = new HostKeyStore(stateDir(cfg));
  const packed = new Map<string, string>();
  const mtime = Math.floor(statSync(artifacts.env).mtimeMs / 1000);
  const rows: { node: string; kcmdline: string; initrd: string }[] = [];

  for (const node of req.nodes) {
    try {
      const a = attrs.get(node);
      if (!a) throw new NodeError("is not a defined node");
      const mac = nodeMac(a, node);
      const { info, scripts } = nodeInfo(ctx, img, node, a, jobOf(a, img.name), currstate);
      const job = info.job as string;
      const master = a.xcatmaster || cfg.master;
      const overrideUrls: string[] = [];
      for (const name of info.overrides) {
        let f = packed.get(name);
        if (!f) {
          f = await packOverride(cfg, name, tools.decompress, ctx.signal);
          packed.set(name, f);
        }
        overrideUrls.push(urlPath(cfg, f));
      }
      const key = hostKeys.get(node, [a.ip ?? "", ...(a.hostnames ?? "").split(/[ ,]+/)]);
      const overlayInput = { node, image: img.name, master, net: nodeNetwork(mac, a, site), hostKey: key, authorizedKeys: keys, facts };
      const planEnv = renderPlanEnv({
        job,
        node,
        image: img.name,
        osvers,
        arch: osarch,
        profile,
        master,
        httpPort: cfg["http.port"],
        archive: { urlPath: urlPath(cfg, artifacts.archive), bytes: artifacts.archiveBytes, chunkBytes: artifacts.chunkBytes, chunks: artifacts.chunks },
        loaderUrlPath: loaderUrl(cfg, info.loader, node),
        waitSeconds: req.waitSeconds,
        disk: req.disk,
        overrides: overrideUrls,
        postscripts: scripts.run,
        postbootscripts: scripts.boot,
        postscriptsUrl: urlPath(cfg, join(cfg.installdir, "postscripts")),
        identityFiles: identityFilesOf(overlayInput),
        layout,
        tools,
        planOptions: { entries },
      });
      writeFileIfChanged(join(cfg.tftpdir, overlayRel(node)), envOverlay(overlayInput, planEnv, mtime));
      const base = `${baseKcmdline(kcmdlineInput(ctx, img, node, a, site, urlPath(cfg, artifacts.env))).trimEnd()} ${cloneKernelArgs(job)} `;
      const kcmdline = fullKcmdline(base, a.addkcmdline, img.attrs.addkcmdline);
      const files = { kernel: published.kernel, initrds: [...published.initrds, overlayRel(node)] };
      writeLoader(
        ctx,
        { node, loader: info.loader, currstate, kcmdline, files, mac, ip: a.ip, arch: a.arch || osarch, xcatmaster: a.xcatmaster, published, site },
        paths,
        grub2,
      );
      rows.push({ node, kcmdline: base, initrd: files.initrds.join(",") });
      result.nodes.push(info);
      for (const w of info.warnings) ctx.log.warn(`${node}: ${w}`);
    } catch (e) {
      if (e instanceof NodeError || e instanceof KcmdlineError || e instanceof LoaderError) result.failed[node] = e.message;
      else throw e;
    }
  }
  hostKeys.save();
  if (hostKeys.created) ctx.log.info(`created SSH host keys for ${hostKeys.created} node(s)`);
  const now = new Date().toISOString();
  db.write(() => {
    for (const r of rows) {
      writeObject(db, NODE_TYPE, r.node, {
        provmethod: img.name,
        os: osvers,
        arch: osarch,
        profile,
        currstate,
        kernel: published.kernel,
        initrd: r.initrd,
        kcmdline: r.kcmdline,
        status: "installing",
        statustime: now,
      });
    }
  });
  const a = result.artifacts;
  result.lines.push(
    `Image ${img.name}: clone environment ${humanSize(a.envBytes)}, disk archive ${humanSize(a.archiveBytes)} in ${a.chunks} chunk(s)${a.built ? "" : " (unchanged since the last clone)"}; disk plan for a disk the size of the golden node's:`,
    ...planLines,
    ...result.nodes.map((n) => `${n.node}: ${currstate} (job ${n.job}): clones itself at its next network boot`),
  );
  return result;
}

function humanSize(b: number): string {
  return b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : `${(b / 1024 ** 2).toFixed(0)} MiB`;
}

/** The job a node keeps while it is still being cloned from this image; otherwise a new one. */
function jobOf(a: Attrs, image: string): string {
  const running = a.currstate?.startsWith("sysclone ") && a.provmethod === image ? /(?:^|\s)xcimg\.clone=(\S+)/.exec(a.kcmdline ?? "")?.[1] : undefined;
  return running ?? newJob();
}

export function newJob(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  return `${t}-${randomBytes(3).toString("hex")}`;
}

function nodeInfo(ctx: Context, img: Image, node: string, a: Attrs, job: string | null, currstate: string): { info: NodeCloneInfo; scripts: NodePostscripts } {
  const ps = nodePostscripts(ctx.config, ctx.db(), img.attrs, a);
  const warnings: string[] = [];
  if (ps.missing.length) warnings.push(`postscripts not in ${join(ctx.config.installdir, "postscripts")}, skipped: ${ps.missing.join(", ")}`);
  if (!a.mac && !a.installnic) warnings.push("No MAC address available for this node");
  const info: NodeCloneInfo = {
    node,
    job,
    loader: a.netboot || "xnba",
    currstate,
    overrides: overrideChain(ctx.config, img.name, groupsOf(a.groups), node),
    postscripts: ps.run.map(describePostscript),
    postbootscripts: ps.boot.map(describePostscript),
    warnings,
  };
  return { info, scripts: ps };
}

/** The URL path of the node's boot loader file, which the node polls for the switch to local boot. */
function loaderUrl(cfg: Context["config"], loader: string, node: string): string {
  const p = bootPaths(cfg.tftpdir);
  const file = loader === "pxe" ? join(p.pxelinuxDir, node) : loader.startsWith("grub2") ? join(p.grub2Dir, node) : join(p.xnbaDir, node);
  return urlPath(cfg, file);
}

function nodeMac(a: Attrs, node: string): string {
  if (a.installnic && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(a.installnic)) return a.installnic.toLowerCase();
  const mac = firstMac(node, a.mac);
  if (!mac) throw new NodeError("No MAC address available for this node");
  return mac;
}

function nodeNetwork(mac: string, a: Attrs, site: SiteSettings): NodeNetwork {
  if (site.staticAddresses && a.ip) return { mac, mode: "static", ip: a.ip, prefix: site.prefix, gateway: site.gateway, dns: site.nameservers };
  return { mac, mode: "dhcp" };
}

function kcmdlineInput(ctx: Context, img: Image, node: string, a: Attrs, site: SiteSettings, imagePath: string) {
  const xcatMaster = a.xcatmaster || MYIPFN;
  const imgServer = [a.nfsserver, a.tftpserver].find((s) => s && s !== "<xcatmaster>") || xcatMaster;
  return {
    node,
    imgServer,
    xcatMaster,
    httpPort: ctx.config["http.port"],
    xcatdPort: site.xcatdPort,
    imagePath,
    flowControl: site.flowControl,
    noNodeStatus: site.noNodeStatus,
    arch: a.arch || img.attrs.osarch || "x86_64",
    serialport: a.serialport,
    serialspeed: a.serialspeed,
    serialflow: a.serialflow,
  };
}

function mkdirQuiet(d: string): void {
  try {
    mkdirSync(d, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${d}`);
  }
}
