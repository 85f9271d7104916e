import type { ImageImportRequest } from "../../core/bundle/import";
import { planExpandRootimg, planRootimgtree } from "../../core/bundle/import-trees";
import type { Context } from "../../core/context";

/**
 * statelite: rootimgtree.gz is unpacked to <rootimgdir>/rootimg, litefile.csv fills the
 * litefile table. Re-run `xcimg lite` afterwards (xCAT does not export rootimg-statelite.gz either).
 */
export async function stateliteImport(ctx: Context, { plan, image }: ImageImportRequest): Promise<void> {
  const m = image.manifest;
  if (image.kind === "cfg") {
    for (const k of ["kernel", "ramdisk", "rootimg"] as const) if (!m.top[k]) image.errors.push(`The '${k}' field is not defined in manifest.cfg.`);
    planExpandRootimg(ctx, plan, image);
    return;
  }
  for (const k of ["kernel", "ramdisk", "rootimgtree"] as const) if (!m.top[k]) image.errors.push(`The '${k}' field is not defined in manifest.xml.`);
  if (!m.top.litefile) ctx.log.warn("Could not find litefile.csv.");
  if (image.errors.length) return;
  planRootimgtree(ctx, plan, image);
}
