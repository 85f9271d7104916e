import { customDirs, type ExportJob, lookup, type MethodExport } from "../../core/bundle/export";
import { lookForFile } from "../../core/bundle/find-files";

/** install bundles carry the template and lists (as every bundle does), and require the OS media on import. */
export async function collect(job: ExportJob): Promise<MethodExport> {
  const m = job.manifest;
  const errors: string[] = [];
  if (!m.linuximage.template) {
    const found = lookForFile("tmpl", lookup(m), customDirs(job), (s) => job.ctx.log.debug(s));
    if (found) {
      job.ctx.log.info(found);
      m.linuximage.template = found;
    } else errors.push(`Couldn't find install template for ${job.image.name}`);
  }
  m.top.media = "required";
  return { errors };
}
