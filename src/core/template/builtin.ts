import debianPkglist from "./builtin/debian.compute.pkglist" with { type: "text" };
import debianTmpl from "./builtin/debian.compute.tmpl" with { type: "text" };
import rhPkglist from "./builtin/rh.compute.pkglist" with { type: "text" };
import rhTmpl from "./builtin/rh.compute.tmpl" with { type: "text" };
import slesPkglist from "./builtin/sles.compute.pkglist" with { type: "text" };
import slesTmpl from "./builtin/sles.compute.tmpl" with { type: "text" };

/**
 * The templates and package lists xcimg ships, compiled into the binary: xcimg's counterpart
 * of xCAT's /opt/xcat/share/xcat/install/<platform>/. They are found after the site's own
 * files in <installdir>/custom/install/<platform>/, as xCAT searches custom before share.
 * Paths look like `builtin:install/<family>/compute.tmpl`.
 */
export const BUILTIN_PREFIX = "builtin:";

/** Installer families with a built-in template; several xCAT platforms share one. */
export type InstallerFamily = "rh" | "sles" | "debian";

const FILES: Record<string, string> = {
  "install/rh/compute.tmpl": rhTmpl,
  "install/rh/compute.pkglist": rhPkglist,
  "install/sles/compute.tmpl": slesTmpl,
  "install/sles/compute.pkglist": slesPkglist,
  "install/debian/compute.tmpl": debianTmpl,
  "install/debian/compute.pkglist": debianPkglist,
};

export function isBuiltin(path: string): boolean {
  return path.startsWith(BUILTIN_PREFIX);
}

export function builtinText(path: string): string | undefined {
  const rel = path.slice(BUILTIN_PREFIX.length);
  return Object.hasOwn(FILES, rel) ? FILES[rel] : undefined;
}

/** The built-in file for a family/profile/extension, or undefined when xcimg ships none. */
export function builtinFile(family: InstallerFamily, profile: string, ext: "tmpl" | "pkglist"): string | undefined {
  const rel = `install/${family}/${profile}.${ext}`;
  return Object.hasOwn(FILES, rel) ? `${BUILTIN_PREFIX}${rel}` : undefined;
}
