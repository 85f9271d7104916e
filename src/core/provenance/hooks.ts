import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { readCaptureRecord } from "../capture/record";
import type { Context } from "../context";
import { findImage } from "../defs/image";
import { XcimgError } from "../errors";
import { manifestPath, type Origin, readStoredManifest, refreshManifest, SIGNATURE_SUFFIX } from "./manifest";
import { readPending, writePending } from "./pending";

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

/**
 * After a capture: the manifest is due, not computed (pending.ts says why and what keeps it
 * exact). `barrier` is the capture's state file, written once the new tree was swapped in.
 * The marker is written before the replaced manifest is removed, so a crash in between leaves
 * the marker, which readers obey; the replaced manifest travels in it (settling compares
 * against it, and warns when it was signed).
 */
export function afterCapture(ctx: Context, imageName: string, origin: Origin | undefined, barrier: string): void {
  const img = findImage(ctx.db(), imageName);
  if (!img) return;
  const path = manifestPath(ctx.config, img);
  try {
    if (!existsSync(dirname(path))) return;
    let previous: { text: string; signature: string | null } | null = null;
    try {
      // two captures with nothing in between that needed the manifest: the first one's marker holds it
      const before = readPending(path);
      if (before) previous = before.previous;
      else {
        const stored = readStoredManifest(ctx.config, img);
        // a capture records a new origin (its time), so the signed manifest can never come back
        if (stored?.signature)
          ctx.log.warn(`the capture changed ${imageName} since it was signed; its signature was removed (sign it again with 'xcimg image sign ${imageName}')`);
        if (stored) previous = { text: stored.text, signature: null };
      }
    } catch (e) {
      ctx.log.warn(`replacing an unreadable manifest record of ${imageName}: ${(e as Error).message}`);
    }
    writePending(path, { since: new Date().toISOString(), origin: origin ?? { how: "unknown" }, barrier, previous });
    rmSync(path + SIGNATURE_SUFFIX, { force: true });
    rmSync(path, { force: true });
    ctx.log.debug(`the manifest of ${imageName} is due (${path}.pending): computed when first needed`);
  } catch (e) {
    // the capture itself is done and committed; image verify will say the manifest is stale
    ctx.log.warn(`the image manifest of ${imageName} was not marked due: ${(e as Error).message}`);
  }
}
