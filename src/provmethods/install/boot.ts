import { join } from "node:path";
import { type BootOptions, type BootResult, bootNodes } from "../../core/boot/boot";
import type { BootFlavor } from "../../core/boot/flavor";
import { hasEfiStub, type PublishedImage } from "../../core/boot/publish";
import type { Context } from "../../core/context";
import { type Image, requireAttr } from "../../core/defs/image";
import { bootFilesDir } from "../../core/image/paths";
import { type InstallBootEntry, prepareInstall } from "./prepare";

/**
 * `xcimg boot <noderange> -o <install image>`, xCAT `nodeset <nr> osimage=<image>` for
 * provmethod install: core/boot's loop with install's flavour. Each node's answer file and the
 * installer kernel/initrd come from prepare.ts; the loop writes each node's boot-loader file
 * (iPXE, GRUB2 or pxelinux per noderes.netboot) starting that installer, and nodetype/chain/
 * bootparams as nodeset leaves them. No overlay: the installer sets the node up. A node that
 * fails is reported with its reason; the others are done.
 */
export async function bootInstall(ctx: Context, img: Image, nodes: string[], opts: BootOptions = {}): Promise<BootResult> {
  return bootNodes(ctx, img, nodes, installFlavor(ctx, img), opts);
}

function installFlavor(ctx: Context, img: Image): BootFlavor {
  const entries = new Map<string, InstallBootEntry>();
  let published: PublishedImage | undefined;
  const entry = (node: string) => entries.get(node) as InstallBootEntry;
  return {
    currstate: `install ${requireAttr(img, "osvers")}-${requireAttr(img, "osarch")}-${requireAttr(img, "profile")}`,
    async prepare(nodes) {
      const prep = await prepareInstall(
        ctx,
        img,
        nodes.map((n) => n.node),
      );
      for (const e of prep.nodes) entries.set(e.node, e);
      const first = prep.nodes[0];
      // the loader writer asks what it asks of a published netboot image; for an installer that is
      // its kernel (EFI stub or not, for iPXE on UEFI) and initrd, copied by prepareInstall
      if (first) {
        published = {
          dir: bootFilesDir(ctx.config, img.name),
          kernel: first.kernel,
          initrds: first.initrds,
          packed: null, // an installer has no packed root image
          efiStub: hasEfiStub(join(ctx.config.tftpdir, first.kernel)),
          mtime: 0,
        };
      }
      return prep.failures;
    },
    published: () => published as PublishedImage,
    kcmdline: (n) => entry(n.node).baseKcmdline,
    // the volatile part of addkcmdline, as installKcmdline places it (installer.ts)
    bootKcmdline: (_base, n) => entry(n.node).kcmdline,
    nodeFiles: (node) => [entry(node).autoinst, entry(node).post],
    doneMarker: (n) => entry(n.node).marker,
  };
}
