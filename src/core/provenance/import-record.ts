import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { ImportPlan } from "../bundle/import";
import type { Context } from "../context";
import { findImage } from "../defs/image";
import { XcimgError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import { afterImageChange } from "./hooks";
import { manifestPath, SIGNATURE_SUFFIX } from "./manifest";
import { clearPending } from "./pending";

/**
 * After an import is committed, each image gets its manifest. A signed bundle's manifest is
 * kept byte for byte with its signature when the image keeps its name, so every later hop
 * (`xcimg image verify`, a service node's sync) can check the original signer; otherwise (an
 * unsigned or xCAT bundle, or `-f` renamed it) a new manifest records the import: the bundle,
 * who signed it and the origin it claimed.
 */
export function recordImports(ctx: Context, plan: ImportPlan): void {
  const at = new Date().toISOString();
  for (const image of plan.images) {
    const p = plan.provenance.find((x) => x.dir === image.dir);
    const img = findImage(ctx.db(), image.name);
    if (!img) continue;
    try {
      if (p?.text && p.manifest?.identity.name === image.name) {
        const path = manifestPath(ctx.config, img);
        if (!existsSync(dirname(path))) continue;
        writeFileAtomic(path, p.text, 0o644);
        clearPending(path); // a capture's due manifest (pending.ts) described the tree the import replaced
        if (p.signature) writeFileAtomic(path + SIGNATURE_SUFFIX, p.signature, 0o644);
        else rmSync(path + SIGNATURE_SUFFIX, { force: true });
        ctx.log.info(`Kept the bundle's ${p.signature ? `manifest signed by ${p.verdict.signer}` : "manifest"} in ${path}.`);
        continue;
      }
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      ctx.log.warn(`the manifest of ${image.name} was not recorded: ${e.message}`);
      continue;
    }
    afterImageChange(ctx, image.name, {
      how: "import",
      bundle: plan.bundle.path,
      signer: p?.verdict.principals.length ? p.verdict.principals.join(",") : null,
      key: p?.verdict.key ?? null,
      at,
      ...(p?.manifest ? { upstream: p.manifest.origin } : {}),
    });
  }
}
