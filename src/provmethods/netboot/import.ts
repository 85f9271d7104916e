import type { ImageToImport, MethodImport } from "../../core/bundle/method";

/**
 * netboot: kernel, ramdisk and packed root image are placed like any file (xcat.md §1.5); a
 * manifest.cfg's rootimg is also expanded (the facts' cfg.expandRootimg).
 */
export function plan(_ctx: unknown, image: ImageToImport): MethodImport {
  const m = image.manifest;
  const errors: string[] = [];
  for (const k of ["ramdisk", "kernel", "rootimg"] as const) if (!m.top[k]) errors.push(`The '${k}' field is not defined in manifest.xml.`);
  return { errors };
}
