import { customDirs, type ExportJob, lookup } from "../../core/bundle/export";
import { lookForFile } from "../../core/bundle/find-files";

/** install bundles carry the template and lists, and require the OS media on import. */
export async function collect(job: ExportJob): Promise<void> {
  const m = job.manifest;
  if (!m.linuximage.template) {
    const found = lookForFile("tmpl", lookup(m), customDirs(job), (s) => job.ctx.log.debug(s));
    if (found) {
      job.ctx.log.info(found);
      m.linuximage.template = found;
    } else job.errors.push(`Couldn't find install template for ${job.image.name}`);
  }
  m.top.media = "required";
}
