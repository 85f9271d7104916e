import type { ImageImportRequest } from "../../core/bundle/import";
import { planExpandRootimg } from "../../core/bundle/import-trees";
import type { Context } from "../../core/context";

/** netboot: kernel, ramdisk and packed root image are placed like any file (xcat.md §1.5). */
export async function netbootImport(ctx: Context, { plan, image }: ImageImportRequest): Promise<void> {
  const m = image.manifest;
  for (const k of ["ramdisk", "kernel", "rootimg"] as const) if (!m.top[k]) image.errors.push(`The '${k}' field is not defined in manifest.xml.`);
  if (image.kind === "cfg") planExpandRootimg(ctx, plan, image);
}
