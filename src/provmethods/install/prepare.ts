import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { firstMac } from "../../core/boot/mac";
import { servedPerms, writeServedFile } from "../../core/boot/served-perms";
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
  try {
    mkdirSync(autoinstDir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new CantCreateError(fsError(e, `cannot create ${autoinstDir}`).message);
  }

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
      // atomic (a node fetching it sees the old file or the new one), with its final mode from the start
      writeServedFile(autoinst, text, perms);
      entries.push({
        node,
        kernel: `${relBoot}/${installer.kernelName}`,
        initrds: [`${relBoot}/${installer.initrdName}`],
        kcmdline,
        baseKcmdline,
        autoinst,
        currstate: `install ${osvers}-${arch}-${profile}`,
      });
    } catch (e) {
      fail(node, e);
    }
  }
  return { image: img.name, nodes: entries, failures };
}
