import { existsSync, mkdirSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { canonicalArch } from "../arch";
import type { Context } from "../context";
import { findImage, setImage } from "../defs/image";
import type { Attrs } from "../defs/object";
import { CantCreateError, DataError, fsError, NotFoundError, UsageError } from "../errors";
import { osFamily } from "../genimage/family";
import { isInside } from "../image/paths";
import { validateImageName, validatePathComponent } from "../names";
import { allMethodFacts, methodWhere } from "../provmethod/facts";
import { builtinText, isBuiltin } from "../template/builtin";
import { customInstallDir, familyOf, findInstallFile, platformOf } from "../template/search";
import { detectMedia } from "./detect";
import { type IsoImport, importIso, isMediaFile } from "./iso";

/**
 * `xcimg image media`: define an install image over media under installdir (copied there from
 * an ISO first by iso.ts), with the defaults xCAT's copycds gives its
 * `<os>-<arch>-install-<profile>` images (provmethod install, osvers/osarch from the media,
 * pkgdir = the media directory, template and pkglist found in custom/install/<platform>/ or
 * xcimg's built-in ones), and the sample diskless images beside it (defineSamples).
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

export interface MediaSample {
  image: string;
  /** false: it existed and was left as it was. */
  created: boolean;
}

export interface MediaImageResult {
  image: string;
  created: boolean;
  attrs: Attrs;
  detectedFrom: string | null;
  written: string[];
  /** The sample diskless images copycds defines beside the install image (none with -o). */
  samples: MediaSample[];
}

/**
 * `image media <dir|iso>`: an ISO file or CD/DVD device is first copied to
 * <installdir>/<os>/<arch> (iso.ts, copycds' copy), then the images are defined over that.
 */
export async function importMedia(ctx: Context, req: MediaImageRequest): Promise<MediaImageResult & { copied?: IsoImport }> {
  const where = resolve(req.dir);
  if (!existsSync(where) && !isInside(where, ctx.config.installdir))
    throw new NotFoundError(`${where} does not exist`, { hint: "give an ISO file, a CD/DVD device, or a media directory under installdir" });
  if (!isMediaFile(req.dir)) return defineMediaImage(ctx, req);
  const copied = await importIso(ctx, resolve(req.dir), { osvers: req.osvers, arch: req.arch });
  return { ...defineMediaImage(ctx, { ...req, dir: copied.dir }), copied };
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
  const samples = req.name ? [] : defineSamples(ctx, osvers, arch, profile, attrs.pkgdir as string);
  return { image: name, created: !existed, attrs, detectedFrom: detected?.evidence ?? null, written, samples };
}

/**
 * copycds also defines `<os>-<arch>-netboot-compute` and `<os>-<arch>-statelite-compute` over the
 * media it copied (xCAT docs, advanced/mixed_cluster/building_stateless_images.rst: "The
 * 'netboot' osimages created from copycds in the osimage table are sample osimage
 * definitions"), with the media as pkgdir, for genimage to build. Here: one per method whose
 * facts ask for it (MethodFacts.media.sample), only when genimage can build that distribution,
 * and never over an image that already exists (its pkgdir or lists may be the site's own).
 * No pkglist is set: genimage looks it up (custom/netboot/<family>/, then its built-in list)
 * and writes the one it found into the row, as xCAT's genimage does.
 */
function defineSamples(ctx: Context, osvers: string, arch: string, profile: string, pkgdir: string): MediaSample[] {
  try {
    osFamily(osvers);
  } catch {
    return []; // a distribution genimage does not build gets the install image only
  }
  const out: MediaSample[] = [];
  for (const f of allMethodFacts().filter((m) => m.media?.sample === true)) {
    const image = `${osvers}-${arch}-${f.name}-${profile}`;
    if (findImage(ctx.db(), image)) {
      out.push({ image, created: false });
      continue;
    }
    setImage(ctx.db(), image, {
      provmethod: f.name,
      profile,
      osvers,
      osarch: arch,
      osname: "Linux",
      imagetype: "linux",
      osdistroname: `${osvers}-${arch}`,
      pkgdir,
    });
    out.push({ image, created: true });
  }
  return out;
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
