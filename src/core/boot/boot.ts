import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { MemoryEntry } from "../archive/cpio";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { requireAttr } from "../defs/image";
import { NODE_TYPE, readNodes } from "../defs/node";
import { type Attrs, writeObject } from "../defs/object";
import { DataError, fsError } from "../errors";
import { rootImgDir } from "../image/paths";
import { guardTree } from "../image/tree-barrier";
import { safeNodeFileName } from "../names";
import { imageHasSystemd, nodeScriptFiles } from "../postscripts/node-files";
import { phaseTimer } from "../timing";
import { BootFileCache } from "./boot-files";
import { writeNodeRows } from "./boot-rows";
import { HostKeyStore } from "./hostkeys";
import { inspectImage } from "./image-facts";
import { baseKcmdline, fullKcmdline, KcmdlineError, type KcmdlineInput, MYIPFN } from "./kcmdline";
import { checkLoaderJob, Grub2Links, LoaderError, type LoaderJob, removePxelinux, removeXnba, rmQuiet, writeLoader } from "./loader-files";
import type { BootFiles } from "./loaders";
import { dashedMac, hexIp } from "./loaders";
import { type NodeNetwork, nodeOverlay } from "./overlay";
import { bootPaths, overlayRel, stateDir, urlPath } from "./paths";
import { type PublishedImage, publishImage } from "./publish";
import { servedPerms } from "./served-perms";
import { authorizedKeys, type SiteSettings, siteSettings } from "./site";

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
}

/** A per-node problem: reported for that node, the others carry on. */
export class NodeError extends Error {}

/** What a node's kernel command line is built from, resolved as xCAT's mknetboot does. */
export interface NodeBootInput {
  node: string;
  attrs: Attrs;
  site: SiteSettings;
  /** noderes.xcatmaster, else MYIPFN. */
  xcatMaster: string;
  /** noderes.nfsserver (unless <xcatmaster>), tftpserver, xcatmaster, else MYIPFN. */
  imgServer: string;
}

/**
 * How one provisioning method boots: its boot files (published once per image), the base
 * kernel command line of each node, and what it adds to each node's overlay. netboot's is
 * below; statelite's lives in provmethods/statelite/boot-flavor.ts. Everything else — loader files,
 * identity overlays, host keys, database rows — is shared.
 */
export interface BootFlavor {
  /** chain.currstate's first word: netboot, statelite. */
  state: string;
  published: PublishedImage;
  /** The image tree the overlay is fitted to (network stack, directory modes). */
  rootimg: string;
  /** Base kernel command line (xCAT's bootparams.kcmdline); throws NodeError/KcmdlineError for this node. */
  kcmdline(n: NodeBootInput): string;
  /** Extra overlay content for this node (e.g. statelite's per-node data). */
  overlay?(n: NodeBootInput): { files: MemoryEntry[]; net?: Partial<NodeNetwork> };
}

/**
 * xCAT `nodeset <noderange> osimage=<image>` for a netboot image: publish the image's boot
 * files, then for every node write its boot loader file (chosen by its effective
 * noderes.netboot: xnba, grub2, grub2-tftp, grub2-http or pxe), its identity overlay, and set
 * nodetype.provmethod and chain.currstate. Node attributes are read in one batch and written
 * in one transaction; nothing is spawned per node.
 */
export function bootImage(ctx: Context, img: Image, nodes: readonly string[]): BootResult {
  const published = publishImage(ctx.config, img);
  const rootimg = join(rootImgDir(ctx.config, img), "rootimg");
  if (existsSync(rootimg)) guardTree(rootimg, ctx.log);
  return bootNodes(ctx, img, nodes, {
    state: "netboot",
    published,
    rootimg,
    kcmdline: (n) => baseKcmdline(kcmdlineInput(ctx, img, n, urlPath(ctx.config, published.packed as string))),
  });
}

/** The per-node part of every boot, whatever the provisioning method (see BootFlavor). */
export function bootNodes(ctx: Context, img: Image, nodes: readonly string[], flavor: BootFlavor): BootResult {
  const cfg = ctx.config;
  const db = ctx.db();
  const phase = phaseTimer(ctx.log, "boot");
  const osvers = requireAttr(img, "osvers");
  const osarch = requireAttr(img, "osarch");
  const profile = requireAttr(img, "profile");
  const published = flavor.published;
  const facts = inspectImage(flavor.rootimg);
  const systemd = imageHasSystemd(flavor.rootimg);
  const site = siteSettings(db);
  const perms = servedPerms(site.webgroup);
  if (perms.warning) ctx.log.warn(perms.warning);
  const keys = authorizedKeys(cfg, ctx.log);
  const attrs = readNodes(db, nodes);
  phase(`read ${nodes.length} nodes' attributes`);
  const currstate = `${flavor.state} ${osvers}-${osarch}-${profile}`;
  const paths = bootPaths(cfg.tftpdir);
  for (const d of Object.values(paths)) mkdirQuiet(d);
  const files = new BootFileCache(stateDir(cfg));
  const grub2Inodes = new Grub2Links(paths.grub2Dir, (p) => files.exists(p));
  const hostKeys = new HostKeyStore(stateDir(cfg));
  phase("load host keys and the boot-file record");
  const result: BootResult = { image: img.name, booted: [], failed: {}, hostKeysCreated: 0 };
  const rows: { node: string; kcmdline: string; initrd: string }[] = [];

  // Two passes. The first checks every node and builds its loader job, so a node with a bad
  // value gets no host key, overlay or loader file. Between them the host keys of the good nodes
  // are saved (fsynced, atomically) BEFORE any overlay carries them: a boot killed halfway must
  // not have handed out keys the store does not have, or the re-run would give those nodes new
  // keys and every known_hosts entry for them would break.
  type Planned = { node: string; a: Attrs; job: LoaderJob; net: NodeNetwork; extra: ReturnType<NonNullable<BootFlavor["overlay"]>> | undefined; base: string };
  const planned: Planned[] = [];
  const failed = (node: string, e: unknown) => {
    if (e instanceof NodeError || e instanceof KcmdlineError || e instanceof LoaderError || e instanceof DataError) result.failed[node] = e.message;
    else throw e;
  };
  for (const node of nodes) {
    try {
      const a = attrs.get(node);
      if (!a) throw new NodeError("is not a defined node");
      safeNodeFileName(node); // before the host key store or any file sees it
      const mac = nodeMac(node, a);
      const input = nodeBootInput(node, a, site);
      const files: BootFiles = { kernel: published.kernel, initrds: [...published.initrds, overlayRel(node)] };
      const base = flavor.kcmdline(input);
      const kcmdline = fullKcmdline(base, a.addkcmdline, img.attrs.addkcmdline);
      const loader = a.netboot || "xnba";
      const extra = flavor.overlay?.(input);
      const net = { ...nodeNetwork(mac, a, site), ...extra?.net };
      const job: LoaderJob = { node, loader, currstate, kcmdline, files, mac, ip: a.ip, arch: a.arch || osarch, xcatmaster: a.xcatmaster, published, site };
      checkLoaderJob(ctx, job);
      planned.push({ node, a, job, net, extra, base });
    } catch (e) {
      failed(node, e);
    }
  }
  phase(`check ${nodes.length} nodes`);
  for (const p of planned) hostKeys.get(p.node, hostKeyNames(p.a));
  phase(`make ${hostKeys.created} host keys`);
  hostKeys.save();
  result.hostKeysCreated = hostKeys.created;
  phase("save host keys (fsync)");

  for (const { node, a, job, net, extra, base } of planned) {
    try {
      const key = hostKeys.get(node, hostKeyNames(a));
      const master = a.xcatmaster || cfg.master;
      const scripts = nodeScriptFiles(cfg, db, { node, attrs: a, image: img, state: flavor.state, master, mac: job.mac, systemd });
      if (scripts.warning) ctx.log.warn(scripts.warning);
      const overlay = nodeOverlay(
        { node, image: img.name, master, net, hostKey: key, authorizedKeys: keys, facts, extra: extra?.files, postscripts: scripts.files },
        published.mtime,
      );
      files.write(join(cfg.tftpdir, overlayRel(node)), overlay, perms);
      const written = writeLoader(ctx, job, paths, grub2Inodes, files);
      result.booted.push({ node, currstate, loader: job.loader, files: [join(cfg.tftpdir, overlayRel(node)), ...written], ip: a.ip });
      rows.push({ node, kcmdline: base, initrd: job.files.initrds.join(",") });
    } catch (e) {
      failed(node, e);
    }
  }

  phase(`write ${files.written} files for ${planned.length} nodes`);
  files.save();
  let changedRows = 0;
  db.write(() => {
    const attrsOf = (r: (typeof rows)[number]) => ({
      provmethod: img.name,
      os: osvers,
      arch: osarch,
      profile,
      currstate,
      kernel: published.kernel,
      initrd: r.initrd,
      kcmdline: r.kcmdline,
    });
    changedRows = writeNodeRows(
      db,
      NODE_TYPE,
      rows.map((r) => ({ node: r.node, attrs: attrsOf(r) })),
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
      const ov = join(cfg.tftpdir, overlayRel(node));
      const mac = firstMac(node, a.mac);
      if (mac) dashedMac(mac);
      if (a.ip) hexIp(a.ip);
      const removed: string[] = [];
      removed.push(...removeXnba(paths.xnbaDir, node));
      removed.push(...grub2.removeNode(node));
      removed.push(...removePxelinux(paths.pxelinuxDir, node, mac, a.ip));
      if (rmQuiet(ov)) removed.push(ov);
      result.offline.push({ node, removed });
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

/** The names and addresses known_hosts lists a node's key under. */
function hostKeyNames(a: Attrs): string[] {
  return [a.ip ?? "", ...(a.hostnames ?? "").split(/[ ,]+/)];
}

/** xCAT's image server and master for a node (xcat.md §4): hostnames stay as given. */
export function nodeBootInput(node: string, a: Attrs, site: SiteSettings): NodeBootInput {
  const xcatMaster = a.xcatmaster || MYIPFN;
  const imgServer = [a.nfsserver, a.tftpserver].find((s) => s && s !== "<xcatmaster>") || xcatMaster;
  return { node, attrs: a, site, xcatMaster, imgServer };
}

/** The fields baseKcmdline and its statelite sibling share. */
export function kcmdlineInput(ctx: Context, img: Image, n: NodeBootInput, imagePath: string): KcmdlineInput {
  const a = n.attrs;
  return {
    node: n.node,
    imgServer: n.imgServer,
    xcatMaster: n.xcatMaster,
    httpPort: ctx.config["http.port"],
    xcatdPort: n.site.xcatdPort,
    imagePath,
    flowControl: n.site.flowControl,
    noNodeStatus: n.site.noNodeStatus,
    arch: a.arch || img.attrs.osarch || "x86_64",
    serialport: a.serialport,
    serialspeed: a.serialspeed,
    serialflow: a.serialflow,
  };
}

/** The MAC of the NIC the node boots from: installnic when it is a MAC, else its own mac table entry. */
function nodeMac(node: string, a: Attrs): string {
  if (a.installnic && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(a.installnic)) return a.installnic.toLowerCase();
  const mac = firstMac(node, a.mac);
  if (!mac) throw new NodeError("No MAC address available for this node");
  return mac;
}

/** mac table values are "aa:bb:.." or "mac!host|mac!host": the entry without a host, or for this node. */
export function firstMac(node: string, value?: string): string | undefined {
  if (!value) return undefined;
  const entries = value.split("|").map((p) => p.split("!"));
  const own = entries.find(([, host]) => !host || host === node) ?? entries[0];
  return own?.[0]?.toLowerCase();
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
