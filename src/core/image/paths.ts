import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { requireAttr } from "../defs/image";
import { DataError } from "../errors";
import { CONTROL_CHARS, printable, safeImageFileName, safePathComponent } from "../names";
import { imageFacts } from "./method-facts";
import { disklessDir } from "./xcat-dirs";

/**
 * Where an image's files live, as xCAT lays them out (cli.md "Files live where xCAT keeps
 * them"). linuximage.rootimgdir wins when set.
 */
export function rootImgDir(config: Config, img: Image): string {
  if (img.attrs.rootimgdir) return safeRootImgDir(img.attrs.rootimgdir);
  const { home } = imageFacts(img.attrs.provmethod);
  if (home !== "profile") return home(config.installdir, safeImageFileName(img.name));
  // these come from the osimage table, which `table restore` or a bundle may have filled
  const osvers = safePathComponent("osvers", requireAttr(img, "osvers"));
  const osarch = safePathComponent("osarch", requireAttr(img, "osarch"));
  const profile = safePathComponent("profile", requireAttr(img, "profile"));
  return disklessDir(config.installdir, osvers, osarch, profile);
}

/** Kernel and initrds copied for the boot loaders: <tftpdir>/xcat/osimage/<image>/ */
export function bootFilesDir(config: Config, imageName: string): string {
  return join(config.tftpdir, "xcat", "osimage", safeImageFileName(imageName));
}

/** Why a linuximage.rootimgdir cannot be used, or null. */
export function rootImgDirProblem(dir: string): string | null {
  if (CONTROL_CHARS.test(dir)) return `rootimgdir '${printable(dir)}' contains control characters`;
  if (!dir.startsWith("/") || dir.split("/").includes("..")) return `rootimgdir '${dir}' must be an absolute path without '..'`;
  if (dir.replace(/\/+$/, "") === "") return "rootimgdir cannot be /";
  return null;
}

/**
 * xCAT lets rootimgdir point anywhere, and sites keep images outside installdir; what it must
 * never be is relative, '/' or a path that climbs out with '..' (capture and pack write there).
 */
function safeRootImgDir(dir: string): string {
  const problem = rootImgDirProblem(dir);
  if (problem)
    throw new DataError(problem, { hint: "set linuximage.rootimgdir to the image's absolute directory, e.g. /install/netboot/<osvers>/<arch>/<profile>" });
  return dir;
}

/** True when `p` is `dir` or inside it (both absolute, already normalised). */
export function isInside(p: string, dir: string): boolean {
  const d = dir.endsWith("/") ? dir : `${dir}/`;
  return p === dir || p.startsWith(d);
}
