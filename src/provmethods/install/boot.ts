import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BootResult, NodeBooted } from "../../core/boot/boot";
import { firstMac } from "../../core/boot/boot";
import { Grub2Links, LoaderError, writeLoader } from "../../core/boot/loader-files";
import { bootPaths } from "../../core/boot/paths";
import { hasEfiStub, type PublishedImage } from "../../core/boot/publish";
import { siteSettings } from "../../core/boot/site";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { NODE_TYPE, readNodes } from "../../core/defs/node";
import { type Attrs, writeObject } from "../../core/defs/object";
import { fsError } from "../../core/errors";
import { bootFilesDir } from "../../core/image/paths";
import { prepareInstall } from "./prepare";

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

/** The MAC the node boots from (installnic when it is one), as nodeset requires one. */
function bootMac(node: string, a: Attrs): string | undefined {
  if (a.installnic && MAC_RE.test(a.installnic)) return a.installnic.toLowerCase();
  return firstMac(node, a.mac);
}

/**
 * `xcimg boot <noderange> -o <install image>`, xCAT `nodeset <nr> osimage=<image>` for
 * provmethod install: each node's answer file and the installer kernel/initrd (prepare.ts),
 * then each node's boot-loader file (core/boot: iPXE, GRUB2 or pxelinux per noderes.netboot)
 * starting that installer, and nodetype/chain/bootparams as nodeset leaves them. A node that
 * fails is reported with its reason; the others are done.
 */
export async function bootInstall(ctx: Context, img: Image, nodes: string[]): Promise<BootResult> {
  const cfg = ctx.config;
  const db = ctx.db();
  const attrs = readNodes(db, nodes);
  const failed: Record<string, string> = {};
  const withMac: string[] = [];
  for (const n of nodes) {
    const a = attrs.get(n);
    if (!a) failed[n] = "is not a defined node";
    else if (!bootMac(n, a)) failed[n] = "No MAC address available for this node";
    else withMac.push(n);
  }
  const prep = withMac.length ? await prepareInstall(ctx, img, withMac) : { image: img.name, nodes: [], failures: {} };
  Object.assign(failed, prep.failures);
  const booted: NodeBooted[] = [];
  if (prep.nodes.length === 0) return { image: img.name, booted, failed, hostKeysCreated: 0 };

  const first = prep.nodes[0] as (typeof prep.nodes)[number];
  // the loader writer asks what it asks of a published netboot image; for an installer that is
  // its kernel (EFI stub or not, for iPXE on UEFI) and initrd, copied by prepareInstall
  const published: PublishedImage = {
    dir: bootFilesDir(cfg, img.name),
    kernel: first.kernel,
    initrds: first.initrds,
    packed: null, // an installer has no packed root image
    efiStub: hasEfiStub(join(cfg.tftpdir, first.kernel)),
    mtime: 0,
  };
  const site = siteSettings(db);
  const paths = bootPaths(cfg.tftpdir);
  for (const d of Object.values(paths)) {
    try {
      mkdirSync(d, { recursive: true });
    } catch (e) {
      throw fsError(e, `cannot create ${d}`);
    }
  }
  const grub2 = new Grub2Links(paths.grub2Dir);
  const done: typeof prep.nodes = [];
  for (const e of prep.nodes) {
    const a = attrs.get(e.node) as Attrs;
    const loader = a.netboot || "xnba";
    try {
      const job = {
        node: e.node,
        loader,
        currstate: e.currstate,
        kcmdline: e.kcmdline,
        files: { kernel: e.kernel, initrds: e.initrds },
        mac: bootMac(e.node, a) as string,
        ip: a.ip,
        arch: a.arch || img.attrs.osarch || "x86_64",
        xcatmaster: a.xcatmaster,
        published,
        site,
      };
      const written = writeLoader(ctx, job, paths, grub2);
      booted.push({ node: e.node, currstate: e.currstate, loader, files: [e.autoinst, ...written], ip: a.ip });
      done.push(e);
    } catch (err) {
      if (err instanceof LoaderError) failed[e.node] = err.message;
      else throw err;
    }
  }
  db.write(() => {
    for (const e of done) {
      writeObject(db, NODE_TYPE, e.node, {
        provmethod: img.name,
        os: img.attrs.osvers ?? "",
        arch: img.attrs.osarch ?? "",
        profile: img.attrs.profile ?? "",
        currstate: e.currstate,
        kernel: e.kernel,
        initrd: e.initrds.join(","),
        kcmdline: e.baseKcmdline,
      });
    }
  });
  return { image: img.name, booted, failed, hostKeysCreated: 0 };
}
