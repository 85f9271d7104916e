import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { DataError, fsError, NotFoundError } from "../errors";
import { linkOrCopyAtomic, sameFile, writeFileAtomic } from "../fs/atomic";
import { bootFilesDir, rootImgDir } from "../image/paths";
import { FIRST_STAGE_INITRD, fetchedArchive, firstStageInitrd } from "../initrd/first-stage";
import { bootInitrd } from "../initrd/stateless";
import { pickKernel } from "../pack/kernel";
import { findPackedImage, isKernelUnpackable, PACKED_IMAGE } from "../pack/outputs";
import { placeGeneration } from "./generations";
import { alignGzipAfter } from "./initrd-align";

/**
 * An image's boot files where boot loaders fetch them: <tftpdir>/xcat/osimage/<image>/
 * (xCAT copies kernel and initrd there too). The packed image joins them, hard-linked when
 * installdir and tftpdir share a filesystem, so TFTP-only loaders (pxelinux, grub2 over tftp)
 * reach it as well. `xcimg pack` refreshes an already published image, so a repack reaches
 * nodes at their next boot without another `xcimg boot`, as with xCAT's imgurl.
 */
export interface PublishedImage {
  dir: string;
  /** Paths relative to the TFTP root. */
  kernel: string;
  /** The initrds the loader hands the kernel, in load order, before the node's overlay. */
  initrds: string[];
  /** The packed image in rootimgdir (for imgurl=), or null when the root comes over NFS. */
  packed: string | null;
  /** The kernel has an EFI stub, so iPXE can start it directly on UEFI machines. */
  efiStub: boolean;
  /** A fixed time for the node overlays: the newest source, so an unchanged image keeps them byte-identical. */
  mtime: number;
  /**
   * Two-stage: the loader hands the kernel a first stage (initrd-fetch.gz) that fetches the
   * packed image from imgurl= (squashfs, tar); the node's overlay is then staged (overlay.ts).
   */
  fetched?: boolean;
}

/** One file of an image's boot set: copied (hard-linked) from `src`, or written from `data`. */
export type BootFileSource = { name: string; src: string } | { name: string; data: Buffer };

export function checkBootable(config: Config, img: Image): { dir: string; kernel: string; packed: string } {
  const dir = rootImgDir(config, img);
  const kernel = join(dir, "kernel");
  if (!existsSync(kernel)) {
    throw new NotFoundError(`kernel cannot be found at ${kernel}`, { hint: `run 'xcimg pack ${img.name}': it takes the kernel from the image's /boot` });
  }
  const packed = findPackedImage(dir);
  if (!packed) {
    const a = img.attrs;
    throw new NotFoundError(`No packed image for platform ${a.osvers}, architecture ${a.osarch}, and profile ${a.profile} found at ${dir}/rootimg.cpio.gz`, {
      hint: `run 'xcimg pack ${img.name}'`,
    });
  }
  if (!isKernelUnpackable(packed) && !fetchedArchive(packed)) {
    throw new DataError(`${packed} cannot be booted: xcimg boots cpio images (the kernel unpacks them), squashfs and tar images (fetched by a first stage)`, {
      hint: `repack with 'xcimg pack ${img.name} -m cpio'`,
    });
  }
  return { dir, kernel, packed };
}

export function publishImage(config: Config, img: Image): PublishedImage {
  const { dir, kernel, packed } = checkBootable(config, img);
  const packedName = basename(packed);
  if (!isKernelUnpackable(packed)) return publishFetched(config, img, dir, kernel, packed);
  const files: BootFileSource[] = [
    { name: packedName, src: packed },
    // the node's uncompressed overlay follows: see initrd-align.ts (UEFI iPXE)
    { name: "initrd-stateless.gz", data: alignGzipAfter(bootInitrd(0), statSync(packed).size) },
  ];
  const pub = publishBootFiles(config, img, kernel, files, (n) => PACKED_IMAGE.test(n) || n === FIRST_STAGE_INITRD);
  // imgurl= names the copy of the node's generation when there is one (generations.ts)
  return { ...pub, packed: config["boot.generations"] ? join(pub.dir, packedName) : packed };
}

/**
 * A squashfs or tar image: the loader hands the kernel the first stage (built from the image
 * tree: its busybox or the management node's, its modules, GNU tar) and the node's overlay;
 * the node fetches the packed image itself from imgurl=, so it is not published under tftpdir
 * (but in a generation directory, with `boot.generations`).
 */
function publishFetched(config: Config, img: Image, dir: string, kernel: string, packed: string): PublishedImage {
  const tree = join(dir, "rootimg");
  const version = pickKernel(tree, img.attrs.kernelver)?.version;
  if (!version) {
    throw new NotFoundError(`${basename(packed)} cannot be booted: no kernel in ${tree}/boot, so no /lib/modules to build its first-stage initrd from`, {
      hint: `put the kernel into the image, or set its version: 'xcimg image set ${img.name} kernelver=<version>'`,
    });
  }
  const stage = firstStageInitrd(tree, version, img.attrs.osarch || "x86_64", basename(packed));
  // the node's uncompressed overlay follows it: see initrd-align.ts (UEFI iPXE)
  const files: BootFileSource[] = [{ name: FIRST_STAGE_INITRD, data: alignGzipAfter(stage.data, 0) }];
  const name = basename(packed);
  const pub = publishBootFiles(config, img, kernel, files, (n) => PACKED_IMAGE.test(n) || n === "initrd-stateless.gz", [{ name, src: packed }]);
  return { ...pub, packed: pub.servedAt[name] ?? packed, fetched: true };
}

/**
 * Put an image's kernel and initrds under <tftpdir>/xcat/osimage/<image>/ (netboot and
 * statelite alike): sources are hard-linked (copied across filesystems), generated files
 * written only when their bytes changed, and names `stale` matches that are not part of
 * this set removed (an old packed image of another format).
 *
 * With `boot.generations` they go into a generation directory instead (generations.ts), and
 * so do `served`: files nodes fetch by URL rather than through the loader (a squashfs image,
 * a clone archive and its sums), so that a node gets them from the same generation as its
 * kernel. `servedAt` says where nodes fetch each: the generation's link, or the source itself.
 */
export function publishBootFiles(
  config: Config,
  img: Image,
  kernel: string,
  files: BootFileSource[],
  stale: (name: string) => boolean = () => false,
  served: { name: string; src: string }[] = [],
): Omit<PublishedImage, "packed"> & { servedAt: Record<string, string> } {
  const root = bootFilesDir(config, img.name);
  try {
    mkdirSync(root, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${root}`);
  }
  const all: BootFileSource[] = [{ name: "kernel", src: kernel }, ...files];
  let mtime = 0;
  for (const f of all) if ("src" in f) mtime = Math.max(mtime, mtimeOf(f.src));
  const servedAt: Record<string, string> = {};
  let out = root;
  if (config["boot.generations"]) {
    out = placeGeneration(root, [...all, ...served], config["boot.generation_grace"]);
    for (const f of served) servedAt[f.name] = join(out, f.name);
  } else {
    for (const f of all) {
      const dst = join(out, f.name);
      if ("src" in f) {
        if (!sameFile(f.src, dst)) linkOrCopyAtomic(f.src, dst);
      } else if (!existsSync(dst) || !readFileSync(dst).equals(f.data)) writeFileAtomic(dst, f.data);
    }
    const names = new Set(files.map((f) => f.name));
    for (const n of safeList(out)) if (!names.has(n) && n !== "kernel" && stale(n)) rmSync(join(out, n), { force: true });
    for (const f of served) servedAt[f.name] = f.src;
  }
  const rel = (f: string) => relative(config.tftpdir, join(out, f));
  return { dir: out, kernel: rel("kernel"), initrds: files.map((f) => rel(f.name)), efiStub: hasEfiStub(kernel), mtime, servedAt };
}

function mtimeOf(f: string): number {
  try {
    return Math.floor(statSync(f).mtimeMs / 1000);
  } catch {
    return 0;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Refresh an image's published files after a pack, if it was published before. With
 * `boot.generations` the loader files name a generation, which a pack must not change: the
 * nodes move to the new one at the next `xcimg boot` (or `sn sync`), all files together.
 */
export function republishIfPublished(config: Config, img: Image): "refreshed" | "generations" | false {
  if (!existsSync(bootFilesDir(config, img.name))) return false;
  if (config["boot.generations"]) return "generations";
  publishImage(config, img);
  return "refreshed";
}

/** xCAT's test: "PE\0\0" followed by the x86-64 machine type in the first 512 bytes. */
export function hasEfiStub(kernel: string): boolean {
  const buf = Buffer.alloc(512);
  let fd: number;
  try {
    fd = openSync(kernel, "r");
  } catch {
    return false;
  }
  try {
    readSync(fd, buf, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  return buf.includes(Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]));
}
