import { chmodSync, chownSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type HostKey, HostKeyStore } from "../../core/boot/hostkeys";
import { firstMac } from "../../core/boot/mac";
import { stateDir } from "../../core/boot/paths";
import { servedPerms, writeServedFile } from "../../core/boot/served-perms";
import { authorizedKeys } from "../../core/boot/site";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import type { Attrs } from "../../core/defs/object";
import { CantCreateError, DataError, fsError, InterruptedError, XcimgError } from "../../core/errors";
import { copyAtomic } from "../../core/fs/atomic";
import { bootFilesDir } from "../../core/image/paths";
import { safeNodeFileName } from "../../core/names";
import { TemplatePolicyError } from "../../core/template/types";
import { findInstaller, installKcmdline, splitAddKcmdline } from "./installer";
import { planInstall, renderAnswerFile, serverFor } from "./plan";
import { MARKER_DIR, markerUrl, POST_SUFFIX, postInstallScript } from "./post-install";

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
  /** kcmdline without the addkcmdline words: what nodeset stores in bootparams.kcmdline. */
  baseKcmdline: string;
  /** The rendered answer file, <installdir>/autoinst/<node>. */
  autoinst: string;
  /** Its end of install (post-install.ts), <installdir>/autoinst/<node>+post. */
  post: string;
  /** The "installed" marker the node PUTs at the end (iPXE nodes with hosts.ip), and its URL. */
  marker?: { url: string; file: string };
  /** chain.currstate as nodeset writes it: "install <os>-<arch>-<profile>". */
  currstate: string;
}

export interface InstallPrepResult {
  image: string;
  nodes: InstallBootEntry[];
  /** node → reason, for nodes that got nothing. */
  failures: Record<string, string>;
}

/** Answer files kept in memory between rendering and writing; beyond this they are rendered twice. */
const KEEP_BYTES = 256 << 20;

/**
 * xCAT mkinstall for a list of nodes: render the image's template per node into
 * <installdir>/autoinst/<node>, copy the installer kernel and initrd from the media to
 * <tftpdir>/xcat/osimage/<image>/, and compute each node's kernel command line. A node whose
 * template fails is reported with its reason and the others still get their files.
 */
export async function prepareInstall(ctx: Context, img: Image, nodes: string[]): Promise<InstallPrepResult> {
  const { config } = ctx;
  const plan = planInstall(ctx, img);
  const { osvers, arch, profile, family } = plan;
  const pkgdir = plan.pkgdirs[0] as string;

  const failures: Record<string, string> = {};
  const entries: InstallBootEntry[] = [];
  const fail = (node: string, err: unknown) => {
    if (!(err instanceof XcimgError)) throw err;
    const msg = err.message.startsWith(`${node}: `) ? err.message.slice(node.length + 2) : err.message;
    failures[node] = err.hint ? `${msg} (${err.hint})` : msg;
  };

  const relBoot = `xcat/osimage/${img.name}`;
  // Media first: without it no node can install (xCAT reports it for every node).
  let installer: ReturnType<typeof findInstaller>;
  try {
    installer = findInstaller(family, pkgdir, osvers, arch);
  } catch (e) {
    for (const n of nodes) fail(n, e);
    return { image: img.name, nodes: [], failures };
  }
  const attrsOf = readNodes(ctx.db(), nodes);
  const site = (key: string) => plan.tables.keyedValue("site", { key }, "value");
  const perms = servedPerms(site("webgroup"));
  if (perms.warning) ctx.log.warn(perms.warning);

  // Every node's answer file is rendered before anything is written: a template that reads a
  // file or a secret it may not (core/template/files.ts, secrets.ts) stops the whole command
  // with the site exactly as it was. Texts are kept for the write below while they fit in
  // KEEP_BYTES (10,000 large kickstarts would not); the others are rendered again.
  const texts = new Map<string, string | null>();
  let kept = 0;
  for (const node of nodes) {
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted after rendering ${texts.size} of ${nodes.length} nodes; nothing was changed`);
    try {
      const a = attrsOf.get(node);
      if (!a) throw new DataError(`${node} is not a defined node`);
      const text = renderAnswerFile(ctx, plan, node, a);
      kept += text.length;
      texts.set(node, kept <= KEEP_BYTES ? text : null);
    } catch (e) {
      if (e instanceof TemplatePolicyError) throw e;
      fail(node, e);
    }
  }
  if (texts.size === 0) return { image: img.name, nodes: [], failures };

  const bootDir = bootFilesDir(config, img.name);
  try {
    mkdirSync(bootDir, { recursive: true });
  } catch (e) {
    throw new CantCreateError(fsError(e, `cannot create ${bootDir}`).message);
  }
  copyAtomic(installer.kernel, join(bootDir, installer.kernelName));
  copyAtomic(installer.initrd, join(bootDir, installer.initrdName));
  const autoinstDir = join(config.installdir, "autoinst");
  const markerDir = join(config.installdir, MARKER_DIR);
  try {
    mkdirSync(autoinstDir, { recursive: true, mode: 0o755 });
    // the web server (its group) creates the markers by WebDAV PUT; nobody else may
    mkdirSync(markerDir, { recursive: true, mode: 0o755 });
    if (perms.gid !== undefined) {
      chownSync(markerDir, 0, perms.gid);
      chmodSync(markerDir, 0o770);
    }
  } catch (e) {
    throw new CantCreateError(fsError(e, `cannot create ${autoinstDir} or ${markerDir}`).message);
  }
  // the nodes' SSH host keys, as boot makes them for netboot nodes (core/boot/hostkeys.ts): the
  // installed system gets its key from <node>+post, so `xcimg node status` can trust it
  const store = new HostKeyStore(stateDir(config));
  const hostKeys = new Map<string, HostKey>();
  for (const node of texts.keys()) {
    const a = attrsOf.get(node) as Attrs;
    hostKeys.set(node, store.get(node, [a.ip ?? "", ...(a.hostnames ?? "").split(/[ ,]+/)]));
  }
  store.save();
  const keys = authorizedKeys(config, ctx.log);

  for (const [node, keptText] of texts) {
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted after ${entries.length} of ${texts.size} nodes`);
    try {
      const a = attrsOf.get(node) as Attrs;
      const text = keptText ?? renderAnswerFile(ctx, plan, node, a);
      const kcmdlineInput = {
        family,
        node,
        osvers,
        arch,
        server: serverFor(ctx, a).server,
        httpPort: config["http.port"],
        mediaPath: plan.mediaPath,
        installnic: a.installnic,
        primarynic: a.primarynic,
        mac: firstMac(node, a.mac),
        serialport: a.serialport,
        serialspeed: a.serialspeed,
        serialflow: a.serialflow,
        debugmode: site("xcatdebugmode"),
        domain: site("domain"),
      };
      const baseKcmdline = installKcmdline(kcmdlineInput);
      const kcmdline = installKcmdline({
        ...kcmdlineInput,
        addkcmdline: splitAddKcmdline(a.addkcmdline, img.attrs.boottarget ? undefined : img.attrs.addkcmdline).volatile,
      });
      const autoinst = join(autoinstDir, safeNodeFileName(node)); // the name may come from a restored or hand-edited table
      const { server, xcatmaster } = serverFor(ctx, a);
      // only a node with an address can mark itself: nginx's DAV location for it admits that
      // address alone (core/boot/node-acl.ts); the others keep network-booting the installer.
      // iPXE scripts and GRUB2 files test for the marker themselves, pxelinux files name it for
      // `xcimg boot --stat` (core/boot/stat.ts), which writes their local boot once it exists
      const marker = a.ip ? { url: markerUrl(config, server, node), file: join(markerDir, node) } : undefined;
      const post = postInstallScript(config, ctx.db(), {
        node,
        attrs: a,
        image: img,
        master: xcatmaster,
        mac: firstMac(node, a.mac),
        hostKey: hostKeys.get(node) as HostKey,
        authorizedKeys: keys,
        markerUrl: marker?.url,
      });
      if (post.warning) ctx.log.warn(post.warning);
      // atomic (a node fetching it sees the old file or the new one), with its final mode from the start
      writeServedFile(autoinst, text, perms);
      writeServedFile(`${autoinst}${POST_SUFFIX}`, post.text, perms);
      // a new install: the old "installed" mark would make the node boot its disk instead
      rmSync(join(markerDir, node), { force: true });
      entries.push({
        node,
        kernel: `${relBoot}/${installer.kernelName}`,
        initrds: [`${relBoot}/${installer.initrdName}`],
        kcmdline,
        baseKcmdline,
        autoinst,
        post: `${autoinst}${POST_SUFFIX}`,
        marker,
        currstate: `install ${osvers}-${arch}-${profile}`,
      });
    } catch (e) {
      fail(node, e);
    }
  }
  return { image: img.name, nodes: entries, failures };
}
