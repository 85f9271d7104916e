import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { DataError, fsError, NotFoundError } from "../errors";
import { linkOrCopyAtomic, sameFile, writeFileAtomic } from "../fs/atomic";
import { bootFilesDir, rootImgDir } from "../image/paths";
import { findPackedImage, isKernelUnpackable, otherPackedImages } from "../pack/outputs";
import { bootInitrd } from "./initrd";

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
  initrd: string;
  rootimg: string;
  /** The packed image in rootimgdir (for imgurl=). */
  packed: string;
  /** The kernel has an EFI stub, so iPXE can start it directly on UEFI machines. */
  efiStub: boolean;
}

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
  if (!isKernelUnpackable(packed)) {
    throw new DataError(`${packed} cannot be booted: xcimg boots images the kernel unpacks itself (cpio)`, {
      hint: `repack with 'xcimg pack ${img.name} -m cpio' (tar and squashfs images need a two-stage initrd xcimg does not ship yet)`,
    });
  }
  return { dir, kernel, packed };
}

export function publishImage(config: Config, img: Image): PublishedImage {
  const { kernel, packed } = checkBootable(config, img);
  const out = bootFilesDir(config, img.name);
  try {
    mkdirSync(out, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${out}`);
  }
  const rel = (f: string) => `xcat/osimage/${img.name}/${f}`;
  const packedName = basename(packed);
  for (const [src, name] of [
    [kernel, "kernel"],
    [packed, packedName],
  ] as const) {
    const dst = join(out, name);
    if (!sameFile(src, dst)) linkOrCopyAtomic(src, dst);
  }
  for (const stale of otherPackedImages(out, packedName)) rmSync(stale, { force: true });
  const initrd = bootInitrd(0);
  const initrdPath = join(out, "initrd-stateless.gz");
  if (!existsSync(initrdPath) || !readFileSync(initrdPath).equals(initrd)) writeFileAtomic(initrdPath, initrd);
  return { dir: out, kernel: rel("kernel"), initrd: rel("initrd-stateless.gz"), rootimg: rel(packedName), packed, efiStub: hasEfiStub(kernel) };
}

/** Refresh an image's published files after a pack, if it was published before. */
export function republishIfPublished(config: Config, img: Image): boolean {
  if (!existsSync(bootFilesDir(config, img.name))) return false;
  publishImage(config, img);
  return true;
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
