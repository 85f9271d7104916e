import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../../core/context";
import type { ImageImportRequest } from "../../core/bundle/import";

/** install: the template must be there, and media=required needs <installdir>/<osvers>/<osarch> (xCAT check_media). */
export async function installImport(ctx: Context, { image }: ImageImportRequest): Promise<void> {
  const m = image.manifest;
  // xCAT's message for a missing template really names 'osarch' (imgport.pm verify_manifest)
  if (!m.linuximage.template) image.errors.push("The 'osarch' field is not defined in manifest.xml.");
  if (m.top.media === "required") {
    const { osvers = "", osarch = "" } = m.osimage;
    if (!existsSync(join(ctx.config.installdir, osvers, osarch))) image.errors.push(`This image requires that you first copy media for ${osvers}-${osarch}`);
  }
}
