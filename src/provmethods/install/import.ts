import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ImageImportRequest } from "../../core/bundle/import";
import type { Context } from "../../core/context";
import { type BundleFile, recordBundleFiles } from "../../core/template/provenance";

/** install: the template must be there, and media=required needs <installdir>/<osvers>/<osarch> (xCAT check_media). */
export async function installImport(ctx: Context, { plan, image }: ImageImportRequest): Promise<void> {
  const m = image.manifest;
  // xCAT's message for a missing template really names 'osarch' (imgport.pm verify_manifest)
  if (!m.linuximage.template) image.errors.push("The 'osarch' field is not defined in manifest.xml.");
  if (m.top.media === "required") {
    const { osvers = "", osarch = "" } = m.osimage;
    if (!existsSync(join(ctx.config.installdir, osvers, osarch))) image.errors.push(`This image requires that you first copy media for ${osvers}-${osarch}`);
  }
  // Remember every file this bundle brings, by content, so its template and whatever it
  // includes are never taken for the site's own (core/template/provenance.ts). Recorded once
  // the bundle is vetted and extracted, i.e. only for an import that goes ahead.
  image.afterExtract.push(async () => {
    const files: BundleFile[] = [];
    for (const p of image.placements) {
      if (!p.tree && p.sha256) files.push({ sha256: p.sha256, image: image.name, path: p.to });
    }
    for (const p of image.placements.filter((x) => x.tree)) {
      const prefix = `${p.from.replace(/\/+$/, "")}/`;
      for (const member of plan.bundle.members.values()) {
        if (member.name.startsWith(prefix) && member.sha256)
          files.push({ sha256: member.sha256, image: image.name, path: join(p.to, member.name.slice(prefix.length)) });
      }
    }
    recordBundleFiles(plan.rules.installdir, files);
  });
}
