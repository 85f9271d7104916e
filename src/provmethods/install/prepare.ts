import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../../core/context";
import { type Image, requireAttr } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import type { Attrs } from "../../core/defs/object";
import { CantCreateError, DataError, fsError, PartialFailure, XcimgError } from "../../core/errors";
import { bootFilesDir } from "../../core/image/paths";
import { renderTemplate } from "../../core/template/render";
import { customInstallDir, familyOf, findInstallFile, platformOf } from "../../core/template/search";
import { dbTemplateTables } from "../../core/template/tables";
import { httpPath } from "../../core/template/urls";
import { findInstaller, installKcmdline, splitAddKcmdline } from "./installer";

/**
 * What a boot loader needs to start one node's installer: the boot-file writer (iPXE, GRUB2,
 * pxelinux) consumes these. kernel and initrds are relative to tftpdir, as xCAT's bootparams
 * are (`xcat/osimage/<image>/vmlinuz`); kcmdline is complete, including the volatile part of
 * bootparams/linuximage addkcmdline.
 */
export interface InstallBootEntry {
  node: string;
  kernel: string;
  initrds: string[];
  kcmdline: string;
  /** The rendered answer file, <installdir>/autoinst/<node>. */
  autoinst: string;
  /** chain.currstate as nodeset writes it: "install <os>-<arch>-<profile>". */
  currstate: string;
}

export interface InstallPrepResult {
  image: string;
  nodes: InstallBootEntry[];
  failures: Record<string, string>;
  summary: string;
}

function imageEnv(ctx: Context, img: Image): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...ctx.env };
  // osimage.environvar: "NAME=value,NAME2=value2", exported to templates as anaconda.pm does
  for (const pair of (img.attrs.environvar ?? "").split(",")) {
    const m = /^\s*(\S+?)\s*=\s*(\S+)\s*$/.exec(pair);
    if (m) env[m[1] as string] = m[2];
  }
  return env;
}

/** Write a file so a node fetching it never sees half of it. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError(e, `cannot write ${path}`);
  }
}

function copyAtomic(src: string, dest: string): void {
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    copyFileSync(src, tmp);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError(e, `cannot copy ${src} to ${dest}`);
  }
}

/**
 * xCAT mkinstall for a list of nodes: render the image's template per node into
 * <installdir>/autoinst/<node>, copy the installer kernel and initrd from the media to
 * <tftpdir>/xcat/osimage/<image>/, and compute each node's kernel command line. A node whose
 * template fails is reported with its reason and the others still get their files; then
 * PartialFailure (exit 1) carries the per-node results.
 */
export async function prepareInstall(ctx: Context, img: Image, nodes: string[]): Promise<InstallPrepResult> {
  const { config } = ctx;
  const osvers = requireAttr(img, "osvers");
  const arch = requireAttr(img, "osarch");
  const profile = requireAttr(img, "profile");
  const platform = platformOf(osvers);
  const family = platform ? familyOf(platform) : undefined;
  if (!platform || !family) throw new DataError(`xcimg cannot install ${osvers}: the install provmethod supports RHEL-like, SLES and Debian/Ubuntu`);
  if (img.attrs.partitionfile) {
    throw new DataError(`image '${img.name}' sets linuximage.partitionfile, which xcimg does not support yet`, { hint: "put the partitioning into the template itself" });
  }
  const pkgdirs = (img.attrs.pkgdir || join(config.installdir, osvers, arch)).split(",").map((s) => s.trim()).filter(Boolean);
  const pkgdir = pkgdirs[0] as string;
  const template = img.attrs.template || findInstallFile(config.installdir, osvers, arch, profile, "tmpl");
  if (!template) {
    throw new DataError(`No ${platform} install template exists for ${profile} in directory ${customInstallDir(config.installdir, platform)} or xcimg's built-in templates`, {
      hint: `set one with 'xcimg image set ${img.name} template=<file>'`,
    });
  }
  const pkglist = img.attrs.pkglist || findInstallFile(config.installdir, osvers, arch, profile, "pkglist");

  const failures: Record<string, string> = {};
  const entries: InstallBootEntry[] = [];
  const fail = (node: string, err: unknown) => {
    if (!(err instanceof XcimgError)) throw err;
    const msg = err.message.startsWith(`${node}: `) ? err.message.slice(node.length + 2) : err.message;
    failures[node] = err.hint ? `${msg} (${err.hint})` : msg;
    ctx.log.error(`${node}: ${failures[node]}`);
  };

  // Media first: without it no node can install (xCAT reports it for every node).
  let installer: ReturnType<typeof findInstaller>;
  try {
    installer = findInstaller(family, pkgdir, osvers, arch);
  } catch (e) {
    for (const n of nodes) fail(n, e);
    throw new PartialFailure(`${nodes.length} of ${nodes.length} nodes failed`, failures, { image: img.name, nodes: [], failures });
  }
  const bootDir = bootFilesDir(config, img.name);
  try {
    mkdirSync(bootDir, { recursive: true });
  } catch (e) {
    throw new CantCreateError(fsError(e, `cannot create ${bootDir}`).message);
  }
  copyAtomic(installer.kernel, join(bootDir, installer.kernelName));
  copyAtomic(installer.initrd, join(bootDir, installer.initrdName));
  const relBoot = `xcat/osimage/${img.name}`;

  const autoinstDir = join(config.installdir, "autoinst");
  mkdirSync(autoinstDir, { recursive: true });
  const tables = dbTemplateTables(ctx.db(), config);
  const attrsOf = readNodes(ctx.db(), nodes);
  const site = (key: string) => tables.keyedValue("site", { key }, "value");
  const env = imageEnv(ctx, img);
  const mediaPath = httpPath(pkgdir, config.installdir);
  const cryptCache = new Map<string, string>();

  for (const node of nodes) {
    if (ctx.signal.aborted) break;
    try {
      const a: Attrs = attrsOf.get(node) ?? {};
      if (!attrsOf.has(node)) throw new DataError(`${node} is not a defined node`);
      const xcatmaster = a.xcatmaster || config.master;
      const server = a.nfsserver || xcatmaster;
      const add = splitAddKcmdline(a.addkcmdline, img.attrs.boottarget ? undefined : img.attrs.addkcmdline);
      const text = renderTemplate({
        node,
        template,
        pkglist,
        platform,
        pkgdirs,
        installdir: config.installdir,
        httpPort: config["http.port"],
        server,
        tables,
        vars: {
          XCATMASTER: xcatmaster,
          MASTER_IP: xcatmaster,
          INSTALLDIR: config.installdir,
          HTTPPORT: String(config["http.port"]),
          PERSKCMDLINE: add.persistent,
          NODESTATUS: site("nodestatus") ?? "",
          IMAGENAME: img.name,
          OSVER: osvers,
          ARCH: arch,
          PROFILE: profile,
          INSTALL_HOSTPORT: config["http.port"] === 80 ? server : `${server}:${config["http.port"]}`,
          MEDIA_URLPATH: mediaPath,
        },
        env,
        allowCommands: env.XCIMG_TEMPLATE_COMMANDS === "1",
        cryptCache,
      });
      const kcmdline = installKcmdline({
        family,
        node,
        osvers,
        arch,
        server,
        httpPort: config["http.port"],
        mediaPath,
        installnic: a.installnic,
        primarynic: a.primarynic,
        mac: macFor(node, a.mac),
        serialport: a.serialport,
        serialspeed: a.serialspeed,
        serialflow: a.serialflow,
        debugmode: site("xcatdebugmode"),
        domain: site("domain"),
        addkcmdline: add.volatile,
      });
      const autoinst = join(autoinstDir, node);
      writeAtomic(autoinst, text);
      entries.push({
        node,
        kernel: `${relBoot}/${installer.kernelName}`,
        initrds: [`${relBoot}/${installer.initrdName}`],
        kcmdline,
        autoinst,
        currstate: `install ${osvers}-${arch}-${profile}`,
      });
    } catch (e) {
      fail(node, e);
    }
  }
  // nodeset's output: one "<node>: <state>" line per node that is ready
  const summary = entries.map((e) => `${e.node}: ${e.currstate}`).join("\n");
  const result: InstallPrepResult = { image: img.name, nodes: entries, failures, summary };
  const failed = Object.keys(failures).length;
  if (failed) throw new PartialFailure(`${failed} of ${nodes.length} nodes failed; ${entries.length} ready to install ${img.name}`, failures, result);
  return result;
}

/** The node's MAC from the mac table (`mac` or `mac!host|mac!host`), lower case. */
function macFor(node: string, v: string | undefined): string | undefined {
  if (!v) return undefined;
  for (const entry of v.split("|")) {
    const [mac, host] = entry.split("!");
    if (!host || host === node) return mac?.toLowerCase();
  }
  return v.split("|")[0]?.split("!")[0]?.toLowerCase();
}
