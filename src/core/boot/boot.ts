import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { NODE_TYPE, readNodes } from "../defs/node";
import { type Attrs, writeObject } from "../defs/object";
import { fsError } from "../errors";
import { tempNameFor, writeFileIfChanged } from "../fs/atomic";
import { requireAttr } from "../defs/image";
import { rootImgDir } from "../image/paths";
import { HostKeyStore } from "./hostkeys";
import { inspectImage } from "./image-facts";
import { baseKcmdline, fullKcmdline, KcmdlineError, MYIPFN } from "./kcmdline";
import { type BootFiles, dashedMac, grub2Config, hexIp, pxelinuxConfig, xnbaConfig } from "./loaders";
import { type NodeNetwork, nodeOverlay } from "./overlay";
import { bootPaths, overlayRel, stateDir, urlPath } from "./paths";
import { type PublishedImage, publishImage } from "./publish";
import { authorizedKeys, siteSettings, type SiteSettings } from "./site";

export interface NodeBooted {
  node: string;
  currstate: string;
  loader: string;
  files: string[];
}

export interface BootResult {
  image: string;
  booted: NodeBooted[];
  /** node → reason, for nodes that got nothing. */
  failed: Record<string, string>;
  hostKeysCreated: number;
}

/** A per-node problem: reported for that node, the others carry on. */
class NodeError extends Error {}

/**
 * xCAT `nodeset <noderange> osimage=<image>` for a netboot image: publish the image's boot
 * files, then for every node write its boot loader file (chosen by its effective
 * noderes.netboot: xnba, grub2, grub2-tftp, grub2-http or pxe), its identity overlay, and set
 * nodetype.provmethod and chain.currstate. Node attributes are read in one batch and written
 * in one transaction; nothing is spawned per node.
 */
export function bootImage(ctx: Context, img: Image, nodes: readonly string[]): BootResult {
  const cfg = ctx.config;
  const db = ctx.db();
  const osvers = requireAttr(img, "osvers");
  const osarch = requireAttr(img, "osarch");
  const profile = requireAttr(img, "profile");
  const published = publishImage(cfg, img);
  const facts = inspectImage(join(rootImgDir(cfg, img), "rootimg"));
  const site = siteSettings(db);
  const keys = authorizedKeys(cfg, ctx.log);
  const attrs = readNodes(db, nodes);
  const currstate = `netboot ${osvers}-${osarch}-${profile}`;
  const paths = bootPaths(cfg.tftpdir);
  for (const d of Object.values(paths)) mkdirQuiet(d);
  const grub2Inodes = new Grub2Links(paths.grub2Dir);
  const hostKeys = new HostKeyStore(stateDir(cfg));
  const result: BootResult = { image: img.name, booted: [], failed: {}, hostKeysCreated: 0 };
  const rows: { node: string; kcmdline: string; initrd: string }[] = [];
  // a fixed time inside the overlay keeps it byte-identical between runs, so unchanged nodes cost a read
  const mtime = Math.floor(statSync(published.packed).mtimeMs / 1000);

  for (const node of nodes) {
    try {
      const a = attrs.get(node);
      if (!a) throw new NodeError("is not a defined node");
      const mac = nodeMac(node, a);
      const files: BootFiles = { kernel: published.kernel, initrds: [published.rootimg, published.initrd, overlayRel(node)] };
      const kcmdline = nodeKcmdline(ctx, img, node, a, site, published);
      const loader = a.netboot || "xnba";
      const net = nodeNetwork(mac, a, site);
      const key = hostKeys.get(node, [a.ip ?? "", ...(a.hostnames ?? "").split(/[ ,]+/)]);
      const overlay = nodeOverlay({ node, image: img.name, master: a.xcatmaster || cfg.master, net, hostKey: key, authorizedKeys: keys, facts }, mtime);
      writeFileIfChanged(join(cfg.tftpdir, overlayRel(node)), overlay);
      const written = writeLoader(ctx, { node, loader, currstate, kcmdline, files, mac, ip: a.ip, arch: a.arch || osarch, xcatmaster: a.xcatmaster, published, site }, paths, grub2Inodes);
      result.booted.push({ node, currstate, loader, files: [join(cfg.tftpdir, overlayRel(node)), ...written] });
      rows.push({ node, kcmdline: baseKcmdline(kcmdlineInput(ctx, img, node, a, site, published)), initrd: files.initrds.join(",") });
    } catch (e) {
      if (e instanceof NodeError || e instanceof KcmdlineError) result.failed[node] = e.message;
      else throw e;
    }
  }

  hostKeys.save();
  result.hostKeysCreated = hostKeys.created;
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
      });
    }
  });
  return result;
}

interface LoaderJob {
  node: string;
  loader: string;
  currstate: string;
  kcmdline: string;
  files: BootFiles;
  mac: string;
  ip?: string;
  arch: string;
  xcatmaster?: string;
  published: PublishedImage;
  site: SiteSettings;
}

/** Write the node's file for its loader and remove what other loaders had for it. */
function writeLoader(ctx: Context, j: LoaderJob, paths: ReturnType<typeof bootPaths>, grub2: Grub2Links): string[] {
  const cfg = ctx.config;
  const myIp = j.xcatmaster || cfg.master;
  const written: string[] = [];
  const httpPort = cfg["http.port"];
  const portSuffix = httpPort === 80 ? "" : `:${httpPort}`;
  const input = { currstate: j.currstate, kcmdline: j.kcmdline, files: j.files };
  if (j.loader !== "xnba") removeXnba(paths.xnbaDir, j.node);
  if (!j.loader.startsWith("grub2")) grub2.removeNode(j.node);
  if (j.loader !== "pxe") removePxelinux(paths.pxelinuxDir, j.node, j.mac, j.ip);

  if (j.loader === "xnba") {
    const base = `http://\${next-server}${portSuffix}/tftpboot`;
    const f = join(paths.xnbaDir, j.node);
    writeFileIfChanged(f, xnbaConfig(input, base));
    written.push(f);
    const uefi = `${f}.uefi`;
    if (j.published.efiStub) {
      writeFileIfChanged(uefi, xnbaConfig(input, base, { uefi: true }));
      written.push(uefi);
    } else rmQuiet(uefi);
    rmQuiet(`${f}.elilo`);
    rmQuiet(`${f}.pxelinux`);
  } else if (j.loader.startsWith("grub2")) {
    const protocol = j.loader === "grub2-http" ? "http" : "tftp";
    const text = grub2Config({ ...input, protocol, serverIp: myIp, httpPort, httpRoot: "/tftpboot", arch: j.arch, debug: j.site.debugMode }, myIp);
    written.push(...grub2.write(j.node, text, [`grub.cfg-01-${dashedMac(j.mac)}`, ...(j.ip ? [`grub.cfg-${hexIp(j.ip)}`] : [])]));
  } else if (j.loader === "pxe") {
    const f = join(paths.pxelinuxDir, j.node);
    writeFileIfChanged(f, pxelinuxConfig(input, myIp));
    written.push(f);
    for (const name of [`01-${dashedMac(j.mac)}`, ...(j.ip ? [hexIp(j.ip)] : [])]) {
      replaceSymlink(j.node, join(paths.pxelinuxDir, name));
      written.push(join(paths.pxelinuxDir, name));
    }
  } else {
    throw new NodeError(`noderes.netboot '${j.loader}' is not supported by xcimg (use xnba, grub2, grub2-tftp, grub2-http or pxe)`);
  }
  return written;
}

/** `xcimg boot --offline`: remove every boot file of the nodes; they fall back to their local disk or DHCP default. */
export function offlineNodes(ctx: Context, nodes: readonly string[]): { node: string; removed: string[] }[] {
  const cfg = ctx.config;
  const db = ctx.db();
  const attrs = readNodes(db, nodes);
  const paths = bootPaths(cfg.tftpdir);
  const grub2 = new Grub2Links(paths.grub2Dir);
  const out: { node: string; removed: string[] }[] = [];
  for (const node of nodes) {
    const a = attrs.get(node) ?? {};
    const removed: string[] = [];
    const mac = firstMac(node, a.mac);
    removed.push(...removeXnba(paths.xnbaDir, node));
    removed.push(...grub2.removeNode(node));
    removed.push(...removePxelinux(paths.pxelinuxDir, node, mac, a.ip));
    const ov = join(cfg.tftpdir, overlayRel(node));
    if (rmQuiet(ov)) removed.push(ov);
    out.push({ node, removed });
  }
  db.write(() => {
    for (const node of nodes) if (attrs.has(node)) writeObject(db, NODE_TYPE, node, { currstate: "offline" });
  });
  return out;
}

function kcmdlineInput(ctx: Context, img: Image, node: string, a: Attrs, site: SiteSettings, published: PublishedImage) {
  const xcatMaster = a.xcatmaster || MYIPFN;
  const imgServer = [a.nfsserver, a.tftpserver].find((s) => s && s !== "<xcatmaster>") || xcatMaster;
  return {
    node,
    imgServer,
    xcatMaster,
    httpPort: ctx.config["http.port"],
    xcatdPort: site.xcatdPort,
    imagePath: urlPath(ctx.config, published.packed),
    flowControl: site.flowControl,
    noNodeStatus: site.noNodeStatus,
    arch: a.arch || img.attrs.osarch || "x86_64",
    serialport: a.serialport,
    serialspeed: a.serialspeed,
    serialflow: a.serialflow,
  };
}

function nodeKcmdline(ctx: Context, img: Image, node: string, a: Attrs, site: SiteSettings, published: PublishedImage): string {
  return fullKcmdline(baseKcmdline(kcmdlineInput(ctx, img, node, a, site, published)), a.addkcmdline, img.attrs.addkcmdline);
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

/** grub2 names one file per node and hard-links it under the MAC and IP names (xCAT's scheme). */
class Grub2Links {
  private byInode: Map<number, string[]> | null = null;
  constructor(private readonly dir: string) {}

  private index(): Map<number, string[]> {
    if (this.byInode) return this.byInode;
    const m = new Map<number, string[]>();
    for (const name of safeList(this.dir)) {
      try {
        const ino = statSync(join(this.dir, name)).ino;
        const l = m.get(ino);
        if (l) l.push(name);
        else m.set(ino, [name]);
      } catch {
        // vanished
      }
    }
    this.byInode = m;
    return m;
  }

  /** Remove the node's file and every name linked to it (also names of an old MAC or IP). */
  removeNode(node: string): string[] {
    const f = join(this.dir, node);
    if (!existsSync(f)) return [];
    const removed: string[] = [];
    const ino = statSync(f).ino;
    for (const name of this.index().get(ino) ?? [node]) if (rmQuiet(join(this.dir, name))) removed.push(join(this.dir, name));
    this.byInode?.delete(ino);
    return removed;
  }

  write(node: string, text: string, names: string[]): string[] {
    const f = join(this.dir, node);
    const out = [f, ...names.map((n) => join(this.dir, n))];
    if (this.unchanged(f, text, out.slice(1))) return out;
    this.removeNode(node);
    writeFileIfChanged(f, text);
    for (const n of names) {
      const p = join(this.dir, n);
      const tmp = tempNameFor(p);
      try {
        linkSync(f, tmp);
        renameSync(tmp, p);
      } catch (e) {
        rmQuiet(tmp);
        throw fsError(e, `cannot link ${p}`);
      }
    }
    if (this.byInode) this.byInode.set(statSync(f).ino, [node, ...names]);
    return out;
  }

  /** Same text, and every name already linked to it: nothing to do. */
  private unchanged(f: string, text: string, links: string[]): boolean {
    try {
      const st = statSync(f);
      if (readFileSync(f, "utf8") !== text) return false;
      return links.every((l) => statSync(l).ino === st.ino);
    } catch {
      return false;
    }
  }
}

function removeXnba(dir: string, node: string): string[] {
  return [node, `${node}.uefi`, `${node}.elilo`, `${node}.pxelinux`].map((n) => join(dir, n)).filter(rmQuiet);
}

function removePxelinux(dir: string, node: string, mac?: string, ip?: string): string[] {
  const names = [node];
  if (mac) names.push(`01-${dashedMac(mac)}`);
  if (ip) names.push(hexIp(ip));
  return names.map((n) => join(dir, n)).filter(rmQuiet);
}

function replaceSymlink(target: string, path: string): void {
  const tmp = tempNameFor(path);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmQuiet(tmp);
    throw fsError(e, `cannot link ${path}`);
  }
}

function rmQuiet(p: string): boolean {
  try {
    unlinkSync(p);
    return true;
  } catch {
    return false;
  }
}

function mkdirQuiet(d: string): void {
  try {
    mkdirSync(d, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${d}`);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
