import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { customDir as kindDir } from "../image/xcat-dirs";
import type { OsFamily } from "./family";

/**
 * xCAT's profile-file lookup (imgutils.pm get_profile_def_filename): in a directory, the
 * first readable one of
 *   <profile>.<osver>.<arch>.<ext>, <profile>.<osbase>.<arch>.<ext>, <profile>.<arch>.<ext>,
 *   <profile>.<osver>.<ext>, <profile>.<osbase>.<ext>, <profile>.<ext>
 * where osbase is osver without its minor version (rhels9.4 → rhels9). genimage looks in
 * <installdir>/custom/netboot/<family>/ first; xCAT then looks in its own shipped directory,
 * for which xcimg has the lists built into the binary (defaults.ts).
 */
export function profileFile(dir: string, osver: string, arch: string, profile: string, ext: string): string | null {
  if (!existsSync(dir)) return null;
  const osbase = osver.includes(".") ? [osver.replace(/\.[^.]*$/, "")] : [];
  const names = [
    `${profile}.${osver}.${arch}.${ext}`,
    ...osbase.map((b) => `${profile}.${b}.${arch}.${ext}`),
    `${profile}.${arch}.${ext}`,
    `${profile}.${osver}.${ext}`,
    ...osbase.map((b) => `${profile}.${b}.${ext}`),
    `${profile}.${ext}`,
  ];
  const present = new Set(readdirSync(dir));
  const hit = names.find((n) => present.has(n));
  return hit ? join(dir, hit) : null;
}

/** genimage builds diskless trees: xCAT's genimage reads <installdir>/custom/netboot/<family>/. */
export function customDir(installdir: string, family: OsFamily): string {
  return kindDir(installdir, "diskless", family.dir);
}
