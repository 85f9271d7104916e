import { statSync } from "node:fs";
import type { ExportJob } from "../../core/bundle/export";
import { rootImgDir } from "../../core/image/paths";

/**
 * sysclone bundles carry the whole image tree as <img>/imagetree/ with xattrs, ACLs and
 * numeric owners (GNU tar, pax format). xCAT refuses sysclone bundles outside s390x; xcimg
 * writes and reads them (xCAT itself cannot import them).
 */
export async function collect(job: ExportJob): Promise<void> {
  const dir = rootImgDir(job.ctx.config, job.image);
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    job.errors.push(`Couldn't find the image tree ${dir} for ${job.image.name}`);
    return;
  }
  job.manifest.top.imagetree = dir;
  job.addTree(dir, "imagetree", { rootfs: true });
}
