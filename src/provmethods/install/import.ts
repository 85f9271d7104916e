import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ImageToImport, MethodImport } from "../../core/bundle/method";
import type { Context } from "../../core/context";

/**
 * install: the template must be there, and media=required needs <installdir>/<osvers>/<osarch>
 * (xCAT check_media). The template and the lists are placed like any file; the facts
 * (remembersFiles) have the importer remember them by content.
 */
export function plan(ctx: Context, image: ImageToImport): MethodImport {
  const m = image.manifest;
  const errors: string[] = [];
  // xCAT's message for a missing template really names 'osarch' (imgport.pm verify_manifest)
  if (!m.linuximage.template) errors.push("The 'osarch' field is not defined in manifest.xml.");
  if (m.top.media === "required") {
    const { osvers = "", osarch = "" } = m.osimage;
    if (!existsSync(join(ctx.config.installdir, osvers, osarch))) errors.push(`This image requires that you first copy media for ${osvers}-${osarch}`);
  }
  return { errors };
}
