import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { requireAttr } from "../defs/image";
import { validateImageName, validatePathComponent } from "../names";

/**
 * Where an image's files live, as xCAT lays them out (cli.md "Files live where xCAT keeps
 * them"). linuximage.rootimgdir wins when set.
 */
export function rootImgDir(config: Config, img: Image): string {
  if (img.attrs.rootimgdir) return img.attrs.rootimgdir;
  if (img.attrs.provmethod === "sysclone") return join(config.installdir, "sysclone", "images", validateImageName(img.name));
  const osvers = validatePathComponent("osvers", requireAttr(img, "osvers"));
  const osarch = validatePathComponent("osarch", requireAttr(img, "osarch"));
  const profile = validatePathComponent("profile", requireAttr(img, "profile"));
  return join(config.installdir, "netboot", osvers, osarch, profile);
}

/** Kernel and initrds copied for the boot loaders: <tftpdir>/xcat/osimage/<image>/ */
export function bootFilesDir(config: Config, imageName: string): string {
  return join(config.tftpdir, "xcat", "osimage", validateImageName(imageName));
}

/** True when `p` is `dir` or inside it (both absolute, already normalised). */
export function isInside(p: string, dir: string): boolean {
  const d = dir.endsWith("/") ? dir : `${dir}/`;
  return p === dir || p.startsWith(d);
}
