import type { Context } from "../context";
import { PermissionFailure } from "../errors";
import { judgeSignature, type TrustPolicy, trustPolicy } from "../provenance/trust";
import type { PulledManifest } from "./image-pull";

/**
 * What a service node trusts in what it pulls (issue #20): the image manifest's SSH signature,
 * judged with the SN's own [trust] require and allowed_signers (docs/provenance.md), once the
 * artifacts match the manifest's digests and before the image is switched in. A refused image
 * leaves its nodes booting what the SN served before. "off": nothing judged.
 */
export function pulledImageTrust(ctx: Context, image: string): ((m: PulledManifest | null) => void) | undefined {
  const policy = trustPolicy(ctx);
  if (policy.mode === "off") return undefined;
  return (m) => judgePulled(ctx, policy, image, m);
}

function judgePulled(ctx: Context, policy: TrustPolicy, image: string, m: PulledManifest | null): void {
  const what = `image ${image} from the management node`;
  if (m === null) {
    if (policy.mode === "signed")
      throw new PermissionFailure(`${what} has no manifest, and [trust] require = "signed" accepts only signed images`, {
        hint: `on the management node: xcimg image sign ${image}`,
      });
    ctx.log.warn(`${what} has no manifest: its signature cannot be checked`);
    return;
  }
  judgeSignature(ctx, policy, `the manifest of ${what}`, Buffer.from(m.text), m.signature);
}
