import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ExportJob, findPkglist, lookup, type MethodExport } from "../../core/bundle/export";
import { lookForFile } from "../../core/bundle/find-files";
import { litefileCsv } from "../../core/bundle/litefile";
import { writeRootimgtree } from "../../core/bundle/rootimgtree";
import { isFile } from "../../core/fs/predicates";
import { rootImgDir } from "../../core/image/paths";

/**
 * statelite bundles carry the kernel, initrd-statelite.gz, the root tree as rootimgtree.gz
 * (cpio, as xCAT) and litefile.csv (xcat.md §1.3). Unlike xCAT, an image without
 * linuximage.rootimgdir uses the default directory instead of failing.
 */
export async function collect(job: ExportJob): Promise<MethodExport> {
  const { ctx, manifest: m, image } = job;
  const errors: string[] = [];
  findPkglist(job);
  const dir = m.linuximage.rootimgdir ?? rootImgDir(ctx.config, image);
  let kernel: string | null = null;
  let ramdisk: string | null = null;
  if (m.linuximage.rootimgdir) {
    if (isFile(join(dir, "kernel"))) kernel = join(dir, "kernel");
    if (isFile(join(dir, "initrd-statelite.gz"))) ramdisk = join(dir, "initrd-statelite.gz");
  } else {
    const dirs = [join(ctx.config.installdir, "netboot")];
    kernel = lookForFile("kernel", lookup(m), dirs);
    ramdisk = lookForFile("initrd-statelite.gz", lookup(m), dirs);
  }
  if (kernel) m.top.kernel = kernel;
  else errors.push(`Couldn't find kernel (kernel) for  ${image.name}`);
  if (ramdisk) m.top.ramdisk = ramdisk;
  else errors.push(`Couldn't find ramdisk (initrd-statelite.gz) for  ${image.name}`);
  let tree = false;
  try {
    tree = statSync(join(dir, "rootimg")).isDirectory();
  } catch {
    tree = false;
  }
  if (!tree) errors.push(`Couldn't locate the root image directory. (${join(dir, "rootimg")} does not exist)`);
  if (errors.length) return { errors };
  ctx.log.info("Packing root image. It will take a while");
  await writeRootimgtree(dir, job.generated("rootimgtree.gz"), ctx.signal);
  m.top.rootimgtree = join(dir, "rootimgtree.gz");
  ctx.log.info("Getting litefile settings");
  writeFileSync(job.generated("litefile.csv"), litefileCsv(ctx.db(), image.name, m.osimage.groups), { mode: 0o644 });
  m.top.litefile = join(dir, "litefile.csv");
  return { errors, files: [kernel, ramdisk].filter((f) => f !== null) };
}
