import type { ImageToImport, MethodImport } from "../../core/bundle/method";
import type { Context } from "../../core/context";

/**
 * statelite: rootimgtree.gz is unpacked to <rootimgdir>/rootimg, litefile.csv fills the
 * litefile table (the facts' litefile). Re-run `xcimg lite` afterwards (xCAT does not export
 * rootimg-statelite.gz either). A manifest.cfg carries a rootimg archive instead, expanded
 * as the facts' cfg says.
 */
export function plan(ctx: Context, image: ImageToImport): MethodImport {
  const m = image.manifest;
  const errors: string[] = [];
  if (image.kind === "cfg") {
    for (const k of ["kernel", "ramdisk", "rootimg"] as const) if (!m.top[k]) errors.push(`The '${k}' field is not defined in manifest.cfg.`);
    return { errors };
  }
  for (const k of ["kernel", "ramdisk", "rootimgtree"] as const) if (!m.top[k]) errors.push(`The '${k}' field is not defined in manifest.xml.`);
  if (!m.top.litefile) ctx.log.warn("Could not find litefile.csv.");
  if (errors.length) return { errors };
  return { errors, packed: [{ key: "rootimgtree" }] };
}
