import { statSync, writeFileSync } from "node:fs";
import { CAPTURE_FILE, carriedCapture } from "../../core/bundle/capture-record";
import type { ExportJob, MethodExport } from "../../core/bundle/export";
import { readCaptureRecord } from "../../core/capture/record";
import { rootImgDir } from "../../core/image/paths";

/**
 * sysclone bundles carry the whole image tree as <img>/imagetree/ with xattrs, ACLs and
 * numeric owners (GNU tar, pax format), and the capture record as <img>/xcimg-capture.json:
 * clone recreates the golden node's disk layout from it, so an imported image clones as the
 * original does. xCAT refuses sysclone bundles outside s390x; xcimg writes and reads them
 * (xCAT itself cannot import them).
 */
export async function collect(job: ExportJob): Promise<MethodExport> {
  const dir = rootImgDir(job.ctx.config, job.image);
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) return { errors: [`Couldn't find the image tree ${dir} for ${job.image.name}`] };
  job.manifest.top.imagetree = dir;
  const rec = readCaptureRecord(job.ctx.db(), job.image.name);
  if (rec) writeFileSync(job.generated(CAPTURE_FILE), `${JSON.stringify(carriedCapture(rec), null, 1)}\n`, { mode: 0o644 });
  else job.ctx.log.warn(`${job.image.name} has no capture record: the bundle carries no disk layout, and clone of the imported image will ask for a capture`);
  return { errors: [], trees: [{ dir, as: "imagetree", rootfs: true }] };
}
