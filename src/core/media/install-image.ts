import { existsSync, mkdirSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { canonicalArch } from "../arch";
import type { Context } from "../context";
import { findImage, setImage } from "../defs/image";
import type { Attrs } from "../defs/object";
import { CantCreateError, DataError, fsError, UsageError } from "../errors";
import { isInside } from "../image/paths";
import { validateImageName, validatePathComponent } from "../names";
import { methodWhere } from "../provmethod/facts";
import { builtinText, isBuiltin } from "../template/builtin";
import { customInstallDir, familyOf, findInstallFile, platformOf } from "../template/search";
import { detectMedia } from "./detect";

/**
 * `xcimg image media`: define an install image over media that is already under installdir,
 * with the defaults xCAT's copycds gives its `<os>-<arch>-install-<profile>` images (provmethod
 * install, osvers/osarch from the media, pkgdir = the media directory, template and pkglist
 * found in custom/install/<platform>/ or xcimg's built-in ones). Nothing is copied from the media.
 *
 * A built-in template or list is written out to custom/install/<platform>/<profile>.tmpl|.pkglist
 * (never over an existing file) so the image names real files: admins can edit them, and
 * export/import carry them in the bundle as xCAT does.
 */
export interface MediaImageRequest {
  dir: string;
  osvers?: string;
  arch?: string;
  profile?: string;
  name?: string;
}

export interface MediaImageResult {
  image: string;
  created: boolean;
  attrs: Attrs;
  detectedFrom: string | null;
  written: string[];
}

export function defineMediaImage(ctx: Context, req: MediaImageRequest): MediaImageResult {
  const installdir = ctx.config.installdir;
  const dir = resolve(req.dir);
  if (!isInside(dir, installdir) || dir === installdir) {
    throw new UsageError(`${dir} is not inside installdir ${installdir}`, {
      hint: `nodes fetch the media over HTTP from ${installdir}; copy or bind-mount it to ${installdir}/<os>/<arch> first`,
    });
  }
  if (!existsSync(dir) && req.osvers && req.arch) {
    throw new DataError(`This image requires that you first copy media for ${req.osvers}-${req.arch}`, { hint: `copy or mount the media to ${dir}` });
  }
  const detected = req.osvers && req.arch ? null : detectMedia(dir);
  if (detected && req.arch && (canonicalArch(req.arch) ?? req.arch) !== detected.arch) {
    throw new DataError(`Requested distribution architecture ${req.arch}, but media is ${detected.arch}`);
  }
  const osvers = validatePathComponent("osvers", req.osvers ?? (detected?.osvers as string));
  const arch = validatePathComponent("osarch", req.arch ? (canonicalArch(req.arch) ?? req.arch) : (detected?.arch as string));
  const profile = validatePathComponent("profile", req.profile ?? "compute");
  const name = validateImageName(req.name ?? `${osvers}-${arch}-install-${profile}`);

  const platform = platformOf(osvers);
  if (!platform || !familyOf(platform)) {
    throw new DataError(`xcimg cannot install ${osvers}: the install provmethod supports RHEL-like, SLES and Debian/Ubuntu media`);
  }
  const written: string[] = [];
  const template = materialize(findInstallFile(installdir, osvers, arch, profile, "tmpl"), installdir, platform, profile, "tmpl", written);
  if (!template) {
    throw new DataError(
      `No ${platform} install template exists for ${profile} in ${customInstallDir(installdir, platform)}, and xcimg has no built-in one for that profile`,
      {
        hint: `write ${customInstallDir(installdir, platform)}/${profile}.tmpl (xcimg's built-in templates are for profile compute)`,
      },
    );
  }
  const pkglist = materialize(findInstallFile(installdir, osvers, arch, profile, "pkglist"), installdir, platform, profile, "pkglist", written);

  const attrs: Attrs = {
    provmethod: methodWhere("media creates", (f) => f.media?.creates === true),
    profile,
    osvers,
    osarch: arch,
    osname: "Linux",
    imagetype: "linux",
    osdistroname: `${osvers}-${arch}`,
    template,
    pkgdir: realDir(dir),
  };
  if (pkglist) attrs.pkglist = pkglist;
  const existed = findImage(ctx.db(), name) !== null;
  setImage(ctx.db(), name, attrs);
  return { image: name, created: !existed, attrs, detectedFrom: detected?.evidence ?? null, written };
}

function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** A found file as a real path: built-ins are written to the site's custom directory first. */
function materialize(
  found: string | undefined,
  installdir: string,
  platform: string,
  profile: string,
  ext: "tmpl" | "pkglist",
  written: string[],
): string | undefined {
  if (!found || !isBuiltin(found)) return found;
  const dest = join(customInstallDir(installdir, platform), `${profile}.${ext}`);
  if (existsSync(dest)) return dest;
  try {
    mkdirSync(customInstallDir(installdir, platform), { recursive: true });
    const tmp = join(customInstallDir(installdir, platform), `.${basename(dest)}.${process.pid}.tmp`);
    writeFileSync(tmp, builtinText(found) ?? "", { mode: 0o644 });
    renameSync(tmp, dest);
  } catch (e) {
    const err = fsError(e, `cannot write ${dest}`);
    throw new CantCreateError(err.message, { cause: e });
  }
  written.push(dest);
  return dest;
}
