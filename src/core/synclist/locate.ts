import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { fsError } from "../errors";
import { imageFacts } from "../image/method-facts";
import { customDir } from "../image/xcat-dirs";
import { applySync, type SyncReport } from "./apply";
import { ImageTarget } from "./image-target";
import { parseSynclist, type Synclist } from "./parse";
import { planSync } from "./plan";

/** xCAT's platform directory for an osvers (Postage.pm, SvrUtils get_file_name). */
export function platformOf(osvers: string): string {
  for (const [re, p] of [
    [/^(rh|rhel|rhels)/, "rh"],
    [/^centos/, "centos"],
    [/^alma/, "alma"],
    [/^rocky/, "rocky"],
    [/^fedora/, "fedora"],
    [/^SL/, "SL"],
    [/^sles/, "sles"],
    [/^ubuntu/, "ubuntu"],
    [/^debian/, "debian"],
  ] as [RegExp, string][]) {
    if (re.test(osvers)) return p;
  }
  return osvers.replace(/[\d.]+$/, "");
}

/**
 * The synclist files of an image: osimage.synclists (comma-separated), else xCAT's default place
 * <installdir>/custom/<netboot|install>/<platform>/<profile>[.<os>][.<arch>].synclist, the most
 * specific name first (syncfile_synclist_file.rst, "The location of synclist file").
 */
export function imageSynclists(config: Config, img: Image): string[] {
  const own = (img.attrs.synclists ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (own.length) return own;
  const { osvers = "", osarch = "", profile = "", provmethod = "" } = img.attrs;
  if (!profile) return [];
  const dir = customDir(config.installdir, imageFacts(provmethod).customDir, platformOf(osvers));
  const names = [`${profile}.${osvers}.${osarch}`, `${profile}.${osvers}`, `${profile}.${osarch}`, profile].map((n) => join(dir, `${n}.synclist`));
  const found = names.find((f) => existsSync(f));
  return found ? [found] : [];
}

export function readSynclist(file: string): Synclist {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw fsError(e, `cannot read the synclist ${file}`);
  }
  return parseSynclist(text, file);
}

/**
 * packimage's and liteimg's sync step: the image's synclists applied into its tree (entries for
 * every node; those with a noderange reach their nodes with `updatenode -F`). EXECUTE scripts
 * are not run in an image: nothing from the management node runs against the tree.
 */
export async function syncIntoImage(ctx: Context, img: Image, tree: string): Promise<SyncReport[]> {
  const reports: SyncReport[] = [];
  for (const file of imageSynclists(ctx.config, img)) {
    const plan = planSync(readSynclist(file), null);
    const r = await applySync(plan, new ImageTarget(tree));
    ctx.log.info(
      `synclist ${file}: ${r.changed.length} file(s) synced, ${r.unchanged} unchanged${r.appended.length ? `, appended to ${r.appended.join(" ")}` : ""}${r.merged.length ? `, merged into ${r.merged.join(" ")}` : ""}`,
    );
    for (const w of r.warnings) ctx.log.warn(w);
    if (r.notForTarget.length) ctx.log.info(`synclist entries for some nodes only (${r.notForTarget.join(", ")}): applied by 'xcimg updatenode -F'`);
    if (r.notRun.length) ctx.log.info(`not run in the image (run on nodes by 'xcimg updatenode -F'): ${r.notRun.join(" ")}`);
    reports.push(r);
  }
  return reports;
}
