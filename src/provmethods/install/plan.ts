import { join } from "node:path";
import { XCAT_SHARE } from "../../core/bundle/find-files";
import type { Context } from "../../core/context";
import { type Image, requireAttr } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import type { Attrs } from "../../core/defs/object";
import { DataError, NotFoundError, UsageError } from "../../core/errors";
import type { InstallerFamily } from "../../core/template/builtin";
import { realDirs, type TemplateFile, type TemplateFilePolicy } from "../../core/template/files";
import { readBundleFiles } from "../../core/template/provenance";
import { renderTemplate } from "../../core/template/render";
import { customInstallDir, familyOf, findInstallFile, platformOf } from "../../core/template/search";
import { TRUSTED_TEMPLATES_KEY } from "../../core/template/secrets";
import { dbTemplateTables, type TemplateTables } from "../../core/template/tables";
import { httpPath } from "../../core/template/urls";
import { splitAddKcmdline } from "./installer";
import { POST_SUFFIX } from "./post-install";

/** What every node of one install image shares: checked once, before any node is touched. */
export interface InstallPlan {
  image: Image;
  osvers: string;
  arch: string;
  profile: string;
  platform: string;
  family: InstallerFamily;
  /** linuximage.pkgdir entries; the first is the OS media. */
  pkgdirs: string[];
  template: string;
  pkglist?: string;
  /** URL path of the media: installdir shown as /install. */
  mediaPath: string;
  env: Record<string, string | undefined>;
  tables: TemplateTables;
  cryptCache: Map<string, string>;
  files: TemplateFilePolicy;
  fileCache: Map<string, TemplateFile>;
}

/**
 * The site's template file policy (core/template/files.ts): read from installdir, xCAT's share
 * directory and what site.trustedtemplates lists; the site's own files are those under
 * <installdir>/custom, <installdir>/postscripts and xCAT's share directory that no bundle brought.
 */
export function templateFilePolicy(installdir: string, tables: TemplateTables): TemplateFilePolicy {
  const vouched = (tables.keyedValue("site", { key: TRUSTED_TEMPLATES_KEY }, "value") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("/"));
  const bundles = readBundleFiles(installdir);
  const under = (...rel: string[]) => rel.map((r) => join(installdir, r));
  return {
    readRoots: realDirs([installdir, XCAT_SHARE, ...vouched]),
    denied: realDirs(under(".xcimg")),
    deniedUntrusted: realDirs(under("netboot", "sysclone", "autoinst")),
    ownDirs: realDirs([...under("custom", "postscripts"), XCAT_SHARE]),
    vouched: realDirs(vouched),
    fromBundle: (sha) => bundles.get(sha),
  };
}

export function planInstall(ctx: Context, img: Image): InstallPlan {
  const { config } = ctx;
  const osvers = requireAttr(img, "osvers");
  const arch = requireAttr(img, "osarch");
  const profile = requireAttr(img, "profile");
  const platform = platformOf(osvers);
  const family = platform ? familyOf(platform) : undefined;
  if (!platform || !family) throw new DataError(`xcimg cannot install ${osvers}: the install provmethod supports RHEL-like, SLES and Debian/Ubuntu`);
  if (img.attrs.partitionfile) {
    throw new DataError(`image '${img.name}' sets linuximage.partitionfile, which xcimg does not support yet`, {
      hint: "put the partitioning into the template itself",
    });
  }
  const pkgdirs = (img.attrs.pkgdir || join(config.installdir, osvers, arch))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const template = img.attrs.template || findInstallFile(config.installdir, osvers, arch, profile, "tmpl");
  if (!template) {
    throw new DataError(
      `No ${platform} install template exists for ${profile} in directory ${customInstallDir(config.installdir, platform)} or xcimg's built-in templates`,
      {
        hint: `set one with 'xcimg image set ${img.name} template=<file>'`,
      },
    );
  }
  const env: Record<string, string | undefined> = { ...ctx.env };
  // osimage.environvar "NAME=value,NAME2=value2" is exported to templates, as anaconda.pm does
  for (const pair of (img.attrs.environvar ?? "").split(",")) {
    const m = /^\s*(\S+?)\s*=\s*(\S+)\s*$/.exec(pair);
    if (m) env[m[1] as string] = m[2];
  }
  const tables = dbTemplateTables(ctx.db(), config);
  return {
    image: img,
    osvers,
    arch,
    profile,
    platform,
    family,
    pkgdirs,
    template,
    pkglist: img.attrs.pkglist || findInstallFile(config.installdir, osvers, arch, profile, "pkglist"),
    mediaPath: httpPath(pkgdirs[0] as string, config.installdir),
    env,
    tables,
    cryptCache: new Map(),
    files: templateFilePolicy(config.installdir, tables),
    fileCache: new Map(),
  };
}

/** Where a node installs from: noderes.nfsserver, else its xcatmaster, else the config's master. */
export function serverFor(ctx: Context, a: Attrs): { xcatmaster: string; server: string } {
  const xcatmaster = a.xcatmaster || ctx.config.master;
  return { xcatmaster, server: a.nfsserver || xcatmaster };
}

/** The node's answer file (kickstart, AutoYaST profile or preseed) as text. */
export function renderAnswerFile(ctx: Context, plan: InstallPlan, node: string, a: Attrs): string {
  const { config } = ctx;
  const { xcatmaster, server } = serverFor(ctx, a);
  const add = splitAddKcmdline(a.addkcmdline, plan.image.attrs.boottarget ? undefined : plan.image.attrs.addkcmdline);
  const port = config["http.port"];
  return renderTemplate({
    node,
    template: plan.template,
    pkglist: plan.pkglist,
    platform: plan.platform,
    pkgdirs: plan.pkgdirs,
    installdir: config.installdir,
    files: plan.files,
    httpPort: port,
    server,
    tables: plan.tables,
    vars: {
      XCATMASTER: xcatmaster,
      MASTER_IP: xcatmaster,
      INSTALLDIR: config.installdir,
      HTTPPORT: String(port),
      PERSKCMDLINE: add.persistent,
      NODESTATUS: plan.tables.keyedValue("site", { key: "nodestatus" }, "value") ?? "",
      IMAGENAME: plan.image.name,
      OSVER: plan.osvers,
      ARCH: plan.arch,
      PROFILE: plan.profile,
      INSTALL_HOSTPORT: port === 80 ? server : `${server}:${port}`,
      MEDIA_URLPATH: plan.mediaPath,
      // the node's end of install (post-install.ts), which the templates fetch and run
      XCIMG_POST_URL: `http://${port === 80 ? server : `${server}:${port}`}${httpPath(join(config.installdir, "autoinst", node), config.installdir)}${POST_SUFFIX}`,
    },
    env: plan.env,
    allowCommands: plan.env.XCIMG_TEMPLATE_COMMANDS === "1",
    cryptCache: plan.cryptCache,
    fileCache: plan.fileCache,
  });
}

/**
 * `xcimg image render`: the answer file one node would get, written nowhere; for checking a
 * template change before 500 nodes reinstall with it.
 */
export function previewAnswerFile(ctx: Context, img: Image, node: string): string {
  if (img.attrs.provmethod !== "install") {
    throw new UsageError(`image '${img.name}' has provmethod '${img.attrs.provmethod ?? ""}'; only install images have a template to render`);
  }
  const a = readNodes(ctx.db(), [node]).get(node);
  if (!a) throw new NotFoundError(`${node} is not a defined node`, { hint: "list nodes with 'xcimg node list'" });
  return renderAnswerFile(ctx, planInstall(ctx, img), node, a);
}
