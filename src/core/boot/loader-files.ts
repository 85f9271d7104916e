import { existsSync, linkSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import { fsError } from "../errors";
import { tempNameFor, writeFileIfChanged } from "../fs/atomic";
import { safeNodeFileName } from "../names";
import { type BootFileWriter, directFiles } from "./boot-files";
import { safeBootLine, safeHost, safeIp, safeMac } from "./boot-values";
import { type BootFiles, dashedMac, grub2Config, hexIp, pxelinuxConfig, xnbaConfig } from "./loaders";
import { bootPaths, overlayRel } from "./paths";
import type { PublishedImage } from "./publish";
import type { SiteSettings } from "./site";

/**
 * Putting a node's boot loader file in place: xnba scripts, GRUB2 files with their MAC/IP
 * hard links, pxelinux files with their symlinks. A node switching loader loses the old
 * loader's files; a file whose content has not changed is left alone (10,000 nodes re-run in
 * seconds); replacements are renamed into place, so a node booting meanwhile reads the old
 * file or the new one.
 */
export class LoaderError extends Error {}

export interface LoaderJob {
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
  /**
   * flavor.doneMarker: xnba scripts and GRUB2 files boot the local disk once it exists
   * (loaders.ts); a pxelinux file names it for `xcimg boot --stat`, which then writes its local boot (stat.ts).
   */
  doneMarker?: { url: string; file: string };
}

/** Write the node's file for its loader and remove what other loaders had for it. */
export function writeLoader(ctx: Context, j: LoaderJob, paths: ReturnType<typeof bootPaths>, grub2: Grub2Links, files: BootFileWriter = directFiles): string[] {
  const cfg = ctx.config;
  const myIp = checkLoaderJob(ctx, j);
  const written: string[] = [];
  const httpPort = cfg["http.port"];
  const portSuffix = httpPort === 80 ? "" : `:${httpPort}`;
  const input = { currstate: j.currstate, kcmdline: j.kcmdline, files: j.files, doneMarker: j.doneMarker };
  const rm = (p: string) => files.remove(p);
  // grub2's links and pxelinux's symlinks are made and removed here, not through `files`: what
  // was asked of `files` before (a writer thread may still be at it) is done first
  if (j.loader !== "xnba" || files.exists(join(paths.grub2Dir, j.node))) files.settle?.();
  if (j.loader !== "xnba") removeXnba(paths.xnbaDir, j.node, rm);
  if (!j.loader.startsWith("grub2")) grub2.removeNode(j.node);
  if (j.loader !== "pxe") removePxelinux(paths.pxelinuxDir, j.node, j.mac, j.ip, rm);

  if (j.loader === "xnba") {
    const base = `http://\${next-server}${portSuffix}/tftpboot`;
    const f = join(paths.xnbaDir, j.node);
    files.write(f, xnbaConfig(input, base));
    written.push(f);
    const uefi = `${f}.uefi`;
    if (j.published.efiStub) {
      files.write(uefi, xnbaConfig(input, base, { uefi: true }));
      written.push(uefi);
    } else rm(uefi);
    rm(`${f}.elilo`);
    rm(`${f}.pxelinux`);
  } else if (j.loader.startsWith("grub2")) {
    const protocol = j.loader === "grub2-http" ? "http" : "tftp";
    const text = grub2Config(
      { ...input, protocol, serverIp: myIp, httpPort, httpRoot: "/tftpboot", arch: j.arch, debug: j.site.debugMode, node: j.node },
      myIp,
    );
    written.push(...grub2.write(j.node, text, [`grub.cfg-01-${dashedMac(j.mac)}`, ...(j.ip ? [`grub.cfg-${hexIp(j.ip)}`] : [])]));
  } else if (j.loader === "pxe") {
    const f = join(paths.pxelinuxDir, j.node);
    files.write(f, pxelinuxConfig(input, myIp));
    written.push(f);
    for (const name of [`01-${dashedMac(j.mac)}`, ...(j.ip ? [hexIp(j.ip)] : [])]) {
      replaceSymlink(j.node, join(paths.pxelinuxDir, name));
      written.push(join(paths.pxelinuxDir, name));
    }
  } else {
    throw new LoaderError(`noderes.netboot '${j.loader}' is not supported by xcimg (use xnba, grub2, grub2-tftp, grub2-http or pxe)`);
  }
  return written;
}

/**
 * Every value of the job that becomes a file name or part of a loader line (and the server
 * address the loader is pointed at, which it returns), checked before
 * anything is written or removed: whichever command built the job (boot, clone, install) and
 * wherever the values came from (node set, table restore, a bundle, a hand-edited database).
 */
export function checkLoaderJob(ctx: Context, j: LoaderJob): string {
  const myIp = safeHost(j.xcatmaster ? "noderes.xcatmaster" : "master (config)", j.xcatmaster || ctx.config.master);
  safeNodeFileName(j.node);
  safeMac(j.mac);
  if (j.ip) safeIp(j.ip);
  safeBootLine("the kernel command line", j.kcmdline);
  safeBootLine("chain.currstate", j.currstate);
  for (const f of [j.files.kernel, ...j.files.initrds]) safeBootLine("a boot file path", f);
  if (j.doneMarker) {
    safeBootLine("the done marker URL", j.doneMarker.url);
    safeBootLine("the done marker file", j.doneMarker.file);
  }
  return myIp;
}

/** grub2 names one file per node and hard-links it under the MAC and IP names (xCAT's scheme). */
export class Grub2Links {
  private byInode: Map<number, string[]> | null = null;
  /** `exists` answers whether a node's file is there (BootFileCache answers from one directory listing). */
  constructor(
    private readonly dir: string,
    private readonly exists: (path: string) => boolean = existsSync,
  ) {}

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
    const f = join(this.dir, safeNodeFileName(node));
    if (!this.exists(f)) return [];
    const removed: string[] = [];
    const ino = statSync(f).ino;
    for (const name of this.index().get(ino) ?? [node]) if (rmQuiet(join(this.dir, name))) removed.push(join(this.dir, name));
    this.byInode?.delete(ino);
    return removed;
  }

  write(node: string, text: string, names: string[]): string[] {
    const f = join(this.dir, safeNodeFileName(node));
    for (const n of names) if (n.includes("/") || n.startsWith(".")) throw new LoaderError(`refusing to link '${n}' in ${this.dir}`);
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

/**
 * Every boot file of one node under tftpdir: its xnba scripts, its GRUB2 file with every name
 * linked to it, its pxelinux file with its MAC and IP names, and its identity overlay. `boot
 * --offline` and a service node's `sn sync --prune` (core/sn/prune.ts) both remove a node this
 * way; `rm` may refuse a path (prune keeps a MAC name that now belongs to another node).
 */
export function removeNodeBootFiles(
  tftpdir: string,
  grub2: Grub2Links,
  n: { node: string; mac?: string; ip?: string },
  rm: (p: string) => boolean = rmQuiet,
): string[] {
  const paths = bootPaths(tftpdir);
  const removed: string[] = [];
  removed.push(...removeXnba(paths.xnbaDir, n.node, rm));
  removed.push(...grub2.removeNode(n.node));
  removed.push(...removePxelinux(paths.pxelinuxDir, n.node, n.mac, n.ip, rm));
  const ov = join(tftpdir, overlayRel(n.node));
  if (rm(ov)) removed.push(ov);
  return removed;
}

export function removeXnba(dir: string, node: string, rm: (p: string) => boolean = rmQuiet): string[] {
  safeNodeFileName(node);
  return [node, `${node}.uefi`, `${node}.elilo`, `${node}.pxelinux`].map((n) => join(dir, n)).filter((p) => rm(p));
}

export function removePxelinux(dir: string, node: string, mac?: string, ip?: string, rm: (p: string) => boolean = rmQuiet): string[] {
  const names = [safeNodeFileName(node)];
  if (mac) names.push(`01-${dashedMac(mac)}`);
  if (ip) names.push(hexIp(ip));
  return names.map((n) => join(dir, n)).filter((p) => rm(p));
}

function replaceSymlink(target: string, path: string): void {
  // already the link: left alone, so its stat signature holds and an unchanged node stays unchanged (node-record.ts)
  try {
    if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === target) return;
  } catch {
    // absent: made below
  }
  const tmp = tempNameFor(path);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmQuiet(tmp);
    throw fsError(e, `cannot link ${path}`);
  }
}

export function rmQuiet(p: string): boolean {
  try {
    unlinkSync(p);
    return true;
  } catch {
    return false;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
