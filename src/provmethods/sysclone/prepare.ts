import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { bootNodes, type NodeBooted } from "../../core/boot/boot";
import { type BootFlavor, kcmdlineInput } from "../../core/boot/flavor";
import { baseKcmdline } from "../../core/boot/kcmdline";
import { bootPaths, urlPath } from "../../core/boot/paths";
import type { Context } from "../../core/context";
import { type Image, requireAttr } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import type { Attrs } from "../../core/defs/object";
import { type CloneArtifacts, inspectImageForClone, prepareArtifacts, syncedArtifacts } from "./artifacts";
import { envOverlay, identityFilesOf } from "./env-overlay";
import { planText } from "./format";
import { renderPlanEnv } from "./node-plan";
import { cloneKernelArgs } from "./node-script";
import { groupsOf, overrideChain, packOverride } from "./overrides";
import { type ClonePlan, planFor, type TooSmall } from "./planner";
import { clonePostscripts, cloneScriptFiles, describePostscript, type NodePostscripts } from "./postscripts";
import { publishClone } from "./publish";
import { packCloneSynclists, planCloneSynclists } from "./synclists";

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
  /** Nodes whose boot files their service node writes: rows and host keys only (core/boot/boot.ts BootOptions). */
  rowsOnly?: ReadonlySet<string>;
  /**
   * On a service node: the clone files are the MN's, as `sn sync` mirrored and checked them.
   * The sync renews the tree's ctimes, which would make prepareArtifacts rebuild the archive on
   * the SN — a different archive than the MN's manifest lists, and hours of work per sync.
   */
  fromSync?: boolean;
}

export interface NodeCloneInfo {
  node: string;
  job: string | null;
  loader: string;
  currstate: string;
  overrides: string[];
  /** The image's synclists, applied onto the disk after the overrides (synclists.ts). */
  synclists: string[];
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
  /** What the nodes got, with their files (sn sync: the SN's node ACL). */
  booted: NodeBooted[];
  /** Nodes prepared in the tables only: their service node writes their files. */
  rowsOnly: string[];
  failed: Record<string, string>;
  lines: string[];
}

export async function cloneNodes(ctx: Context, img: Image, req: CloneRequest): Promise<CloneResult> {
  const cfg = ctx.config;
  const db = ctx.db();
  const osvers = requireAttr(img, "osvers");
  const osarch = requireAttr(img, "osarch");
  const profile = img.attrs.profile ?? "";
  const inspected = req.dryRun ? inspectImageForClone(ctx, img) : null;
  const art: CloneArtifacts | null = req.dryRun ? null : req.fromSync ? syncedArtifacts(ctx, img) : await prepareArtifacts(ctx, img);
  const layout = (inspected ?? art)?.layout as CloneArtifacts["layout"];
  const tools = (inspected ?? art)?.tools as CloneArtifacts["tools"];
  const entries = (inspected ?? art)?.entries ?? 0;
  const diskBytes = req.diskBytes ?? layout.disk.bytes;
  const plan = planFor(layout, diskBytes, { entries });
  const attrs = readNodes(db, req.nodes);
  const currstate = `sysclone ${osvers}-${osarch}`;
  const result: CloneResult = { image: img.name, dryRun: req.dryRun, plan, artifacts: null, nodes: [], booted: [], rowsOnly: [], failed: {}, lines: [] };
  const planLines = planText(plan, layout, img.name);
  for (const w of [...layout.warnings, ...layout.notCloned]) ctx.log.warn(w);
  // parsed before anything is written: a bad synclist line stops the clone with its file and line
  const synclists = planCloneSynclists(ctx, img);

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
      const { info } = nodeInfo(ctx, img, node, a, null, currstate, synclists.files);
      result.nodes.push(info);
      const extras = [
        info.overrides.length ? `overrides ${info.overrides.join(", ")}` : "",
        info.synclists.length ? `synclists ${info.synclists.join(", ")}` : "",
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
  const synclistArchive = await packCloneSynclists(ctx, img, artifacts.tree, synclists, tools.decompress);
  const mtime = Math.floor(statSync(artifacts.env).mtimeMs / 1000);
  const prepared = new Map<string, { info: NodeCloneInfo; scripts: NodePostscripts; overrideUrls: string[] }>();
  const packed = new Map<string, string>();
  const ready = (node: string) => prepared.get(node) as NonNullable<ReturnType<typeof prepared.get>>;
  const jobOfNode = (node: string) => ready(node).info.job as string;
  const flavor: BootFlavor = {
    currstate,
    async prepare(nodes) {
      for (const { node, attrs: a } of nodes) {
        const { info, scripts } = nodeInfo(ctx, img, node, a, jobOf(a, img.name), currstate, synclists.files);
        const overrideUrls: string[] = [];
        for (const name of info.overrides) {
          let f = packed.get(name);
          if (!f) {
            f = await packOverride(cfg, name, tools.decompress, ctx.signal);
            packed.set(name, f);
          }
          overrideUrls.push(urlPath(cfg, f));
        }
        // after the overrides: a synclist wins, as xCAT's syncfiles runs after the install
        if (synclistArchive) overrideUrls.push(urlPath(cfg, synclistArchive));
        prepared.set(node, { info, scripts, overrideUrls });
      }
      return {};
    },
    published: () => published,
    kcmdline: (n) => `${baseKcmdline(kcmdlineInput(ctx, img, n, urlPath(cfg, artifacts.env))).trimEnd()} ${cloneKernelArgs(jobOfNode(n.node))} `,
    overlay: {
      rootimg: artifacts.tree,
      postscripts: false, // the plan carries them: clone.sh runs them in the new system
      build(identity, n) {
        const { info, scripts, overrideUrls } = ready(n.node);
        const planEnv = renderPlanEnv({
          job: jobOfNode(n.node),
          node: n.node,
          image: img.name,
          osvers,
          arch: osarch,
          profile,
          master: identity.master,
          httpPort: cfg["http.port"],
          archive: { urlPath: urlPath(cfg, published.archive), bytes: artifacts.archiveBytes, chunkBytes: artifacts.chunkBytes, chunks: artifacts.chunks },
          loaderUrlPath: loaderUrl(cfg, info.loader, n.node),
          waitSeconds: req.waitSeconds,
          disk: req.disk,
          overrides: overrideUrls,
          postscripts: scripts.run,
          postbootscripts: scripts.boot,
          postscriptsUrl: urlPath(cfg, join(cfg.installdir, "postscripts")),
          identityFiles: identityFilesOf(identity),
          layout,
          tools,
          planOptions: { entries },
        });
        // xcimg's built-ins the node lists, with the runner and mypostscript that run them (postscripts.ts)
        const scriptFiles = cloneScriptFiles(cfg, db, { node: n.node, attrs: n.attrs, image: img, master: identity.master, mac: n.mac }, scripts);
        return envOverlay(identity, planEnv, mtime, scriptFiles);
      },
    },
    rowAttrs: { status: "installing", statustime: new Date().toISOString() },
  };
  const booted = await bootNodes(ctx, img, req.nodes, flavor, { rowsOnly: req.rowsOnly });
  result.failed = booted.failed;
  result.rowsOnly = booted.rowsOnly;
  result.booted = booted.booted;
  for (const { node } of booted.booted) {
    const { info } = ready(node);
    result.nodes.push(info);
    for (const w of info.warnings) ctx.log.warn(`${node}: ${w}`);
  }
  if (booted.hostKeysCreated) ctx.log.info(`created SSH host keys for ${booted.hostKeysCreated} node(s)`);
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

function nodeInfo(
  ctx: Context,
  img: Image,
  node: string,
  a: Attrs,
  job: string | null,
  currstate: string,
  synclists: string[],
): { info: NodeCloneInfo; scripts: NodePostscripts } {
  const ps = clonePostscripts(ctx.config, ctx.db(), img.attrs, a);
  const warnings: string[] = [];
  if (ps.missing.length) warnings.push(`postscripts not in ${join(ctx.config.installdir, "postscripts")}, skipped: ${ps.missing.join(", ")}`);
  if (!a.mac && !a.installnic) warnings.push("No MAC address available for this node");
  const info: NodeCloneInfo = {
    node,
    job,
    loader: a.netboot || "xnba",
    currstate,
    overrides: overrideChain(ctx.config, img.name, groupsOf(a.groups), node),
    synclists,
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
