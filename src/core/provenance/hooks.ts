import { readCaptureRecord } from "../capture/record";
import type { Context } from "../context";
import { findImage } from "../defs/image";
import { XcimgError } from "../errors";
import { type Origin, refreshManifest } from "./manifest";

/**
 * The points where an image's files change — capture, pack, lite, import — refresh its
 * manifest here, after the command's own work is done and committed. A failure to write the
 * manifest does not undo that work; it is reported, and `xcimg image verify` will say the
 * manifest is stale.
 */
export function afterImageChange(ctx: Context, imageName: string, origin?: Origin): void {
  const img = findImage(ctx.db(), imageName);
  if (!img) return;
  try {
    const r = refreshManifest(ctx, img, origin);
    if (r.changed) ctx.log.debug(`recorded the image manifest in ${r.path}`);
  } catch (e) {
    if (!(e instanceof XcimgError)) throw e;
    ctx.log.warn(`the image manifest of ${imageName} was not refreshed: ${e.message}`);
  }
}

/** capture already records where the tree came from (capture/record.ts); the manifest cites it. */
export function captureOrigin(ctx: Context, imageName: string): Origin | undefined {
  const rec = readCaptureRecord(ctx.db(), imageName);
  if (!rec) return undefined;
  const s = (k: string) => (typeof rec[k] === "string" ? (rec[k] as string) : undefined);
  return {
    how: "capture",
    node: s("node") ?? "?",
    address: s("address"),
    type: s("type"),
    level: s("level"),
    rootdir: s("rootdir") ?? null,
    at: s("finished") ?? new Date().toISOString(),
  };
}
