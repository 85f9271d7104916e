import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type BootOptions, type BootResult, bootNodes } from "../../core/boot/boot";
import { type BootFlavor, kcmdlineInput, type NodeBootInput } from "../../core/boot/flavor";
import { alignGzipAfter } from "../../core/boot/initrd-align";
import { urlPath } from "../../core/boot/paths";
import { type BootFileSource, publishBootFiles } from "../../core/boot/publish";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { NotFoundError } from "../../core/errors";
import { copyAtomic, writeFileIfChanged } from "../../core/fs/atomic";
import { guardTree, treeIsNfsRoot } from "../../core/image/tree-barrier";
import { pickKernel } from "../../core/pack/kernel";
import { PACKED_IMAGE } from "../../core/pack/outputs";
import { stateliteInitrd } from "./initrd";
import { nfsDirFor, stateliteKcmdline } from "./kcmdline";
import { liteTarget } from "./liteimg";
import { type NodeStateliteData, readAppliedList, renderNodeData, stateliteNodeData } from "./node-data";

export const RAMDISK_ARCHIVE = "rootimg-statelite.gz";
export const STATELITE_INITRD = "initrd-statelite.gz";

/**
 * xCAT `nodeset <noderange> osimage=<statelite image>` (anaconda.pm mkstatelite): the shared
 * boot machinery of core/boot with statelite's boot files and command line.
 *
 * The loader hands the kernel, in order: [rootimg-statelite.gz (ramdisk only)],
 * initrd-statelite.gz (xcimg's, built here from the image: busybox, NIC+NFS modules,
 * rc.statelite) and the node's overlay, which carries /etc/xcimg/statelite.conf — the
 * image's litefile.save, the node's litetree directories and statemnt/mntopts with xCAT's
 * variables resolved — so the node needs no xCAT daemon at boot.
 */
export async function bootStatelite(ctx: Context, img: Image, nodes: readonly string[], opts: BootOptions = {}): Promise<BootResult> {
  const { dir, rootimg } = liteTarget(ctx, img);
  guardTree(rootimg, ctx.log, { nfsRoot: treeIsNfsRoot(img) });
  const applied = readAppliedList(rootimg, img.name);
  const a = img.attrs;
  const osvers = a.osvers as string;
  const osarch = a.osarch as string;
  const profile = a.profile as string;
  const ramdisk = a.rootfstype === "ramdisk";
  const kernel = stateliteKernel(img, dir, rootimg);
  const archive = join(dir, RAMDISK_ARCHIVE);
  if (ramdisk && !existsSync(archive)) {
    throw new NotFoundError(`No packed image for platform ${osvers}, architecture ${osarch} and profile ${profile}, please run "liteimg" to create it.`, {
      hint: `run 'xcimg lite ${img.name}' (osimage.rootfstype=ramdisk packs ${archive})`,
    });
  }
  const initrd = stateliteInitrd(rootimg, kernel.version, osarch);
  // the node's uncompressed overlay follows it: core/boot/initrd-align.ts (UEFI iPXE)
  initrd.data = alignGzipAfter(initrd.data, ramdisk ? statSync(archive).size : 0);
  if (writeFileIfChanged(join(dir, STATELITE_INITRD), initrd.data)) {
    ctx.log.info(
      `wrote ${join(dir, STATELITE_INITRD)}: busybox from the ${initrd.busyboxFrom} (${initrd.busybox}), ${initrd.modules} modules of kernel ${kernel.version}`,
    );
  }
  const files: BootFileSource[] = [...(ramdisk ? [{ name: RAMDISK_ARCHIVE, src: archive }] : []), { name: STATELITE_INITRD, src: join(dir, STATELITE_INITRD) }];
  const pub = publishBootFiles(ctx.config, img, kernel.path, files, (n) => n === RAMDISK_ARCHIVE || n === "initrd-stateless.gz" || PACKED_IMAGE.test(n));
  const published = { ...pub, packed: ramdisk ? archive : null };

  const db = ctx.db();
  const data = new Map<string, NodeStateliteData>();
  const nodeData = (node: string) => {
    let d = data.get(node);
    if (!d) {
      d = stateliteNodeData(db, ctx.config, node, img.name, rootimg, applied);
      data.set(node, d);
    }
    return d;
  };
  const flavor: BootFlavor = {
    currstate: `statelite ${osvers}-${osarch}-${profile}`,
    published: () => published,
    kcmdline(n: NodeBootInput) {
      const d = nodeData(n.node);
      return stateliteKcmdline({
        ...kcmdlineInput(ctx, img, n, urlPath(ctx.config, archive)),
        ramdisk,
        nfsDir: nfsDirFor(dir, n.attrs.nfsdir, osvers, osarch, profile),
        nfsRootOpts: a.nfsrootopts,
        statemnt: d.statemnt,
        mntopts: d.mntopts,
      });
    },
    overlay: {
      rootimg,
      postscripts: true,
      extra: (n: NodeBootInput) => ({
        files: [{ name: "etc/xcimg/statelite.conf", mode: 0o100644, data: renderNodeData(nodeData(n.node)) }],
        // over NFS the root lives on the NIC the initramfs configured: the image must keep it
        net: ramdisk ? {} : { keepAddress: true },
      }),
    },
  };
  return bootNodes(ctx, img, nodes, flavor, opts);
}

/**
 * The kernel a statelite image boots and its version (for the initrd's modules): the image's
 * own (/boot, or linuximage.kernelver), placed at <rootimgdir>/kernel as pack does for netboot
 * images; else a kernel already there (xCAT's genimage put it), its version read from the
 * bzImage header.
 */
export function stateliteKernel(img: Image, dir: string, rootimg: string): { path: string; version: string } {
  const placed = join(dir, "kernel");
  const k = pickKernel(rootimg, img.attrs.kernelver);
  if (k) {
    copyAtomic(k.path, placed);
    return { path: placed, version: k.version };
  }
  if (!existsSync(placed)) {
    throw new NotFoundError(`Did you run "genimage" before running "liteimg"? kernel cannot be found at ${placed} on ${hostname()}`, {
      hint: `install a kernel in the image (${rootimg}/boot/vmlinuz-<version>) or put one at ${placed}`,
    });
  }
  const version = bzImageVersion(placed);
  if (!version) {
    throw new NotFoundError(`cannot tell the version of ${placed}, so not which /lib/modules of the image goes with it`, {
      hint: `set it: 'xcimg image set ${img.name} kernelver=<version>'`,
    });
  }
  return { path: placed, version };
}

/** x86 boot protocol: "HdrS" at 0x202, the version string at 0x200 + the word at 0x20e. */
export function bzImageVersion(file: string): string | null {
  const fd = openSync(file, "r");
  try {
    const h = Buffer.alloc(0x210);
    if (readSync(fd, h, 0, h.length, 0) < h.length || h.toString("latin1", 0x202, 0x206) !== "HdrS") return null;
    const at = 0x200 + h.readUInt16LE(0x20e);
    const v = Buffer.alloc(128);
    readSync(fd, v, 0, v.length, at);
    const s = v.toString("latin1");
    return s.slice(0, s.indexOf(" ")) || null;
  } finally {
    closeSync(fd);
  }
}
