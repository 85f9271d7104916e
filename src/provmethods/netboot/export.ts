import { join } from "node:path";
import { type ExportJob, findPkglist, lookup, type MethodExport } from "../../core/bundle/export";
import { lookForFile, searchCompressedRootimg } from "../../core/bundle/find-files";
import { isFile } from "../../core/fs/predicates";

/** netboot bundles carry the kernel, initrd-stateless.gz and the packed root image (xcat.md §1.3). */
export async function collect(job: ExportJob): Promise<MethodExport> {
  const m = job.manifest;
  const errors: string[] = [];
  const name = job.image.name;
  findPkglist(job);
  const dir = m.linuximage.rootimgdir;
  let ramdisk: string | null = null;
  let kernel: string | null = null;
  let rootimg: string | null = null;
  if (dir) {
    if (isFile(join(dir, "initrd-stateless.gz"))) ramdisk = join(dir, "initrd-stateless.gz");
    if (isFile(join(dir, "kernel"))) kernel = join(dir, "kernel");
    const packed = searchCompressedRootimg(dir);
    if (packed) rootimg = join(dir, packed);
  } else {
    const dirs = [join(job.ctx.config.installdir, "netboot")];
    ramdisk = lookForFile("initrd-stateless.gz", lookup(m), dirs);
    kernel = lookForFile("kernel", lookup(m), dirs);
    for (const n of ["rootimg.cpio.xz", "rootimg.cpio.gz", "rootimg.tar.xz", "rootimg.tar.gz", "rootimg.gz"]) {
      rootimg = lookForFile(n, lookup(m), dirs);
      if (rootimg) break;
    }
  }
  if (ramdisk) m.top.ramdisk = ramdisk;
  else errors.push(`Couldn't find ramdisk (initrd-stateless.gz) for  ${name}`);
  if (kernel) m.top.kernel = kernel;
  else errors.push(`Couldn't find kernel (kernel) for  ${name}`);
  if (rootimg) m.top.rootimg = rootimg;
  else errors.push(`Couldn't find compressed rootimg for ${name}`);
  return { errors, files: [kernel, ramdisk, rootimg].filter((f) => f !== null) };
}
