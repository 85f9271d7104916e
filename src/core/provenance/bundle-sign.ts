import type { FinishHook } from "../bundle/write";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import { listed, statementMember } from "./bundle-statement";
import { computeManifest, MANIFEST_FILE, manifestPath, manifestText, type Origin, readStoredManifest, SIGNATURE_SUFFIX } from "./manifest";
import { readPending } from "./pending";
import { openSigner, signMessage } from "./signer";
import { keyLabel } from "./sshsig";

/**
 * `xcimg export --sign`: once every member is written, the image manifest (computed now, with
 * the origin already recorded) plus the statement of the bundle's members is signed and both
 * are appended as <img>/xcimg-manifest.json and <img>/xcimg-manifest.json.sig. xCAT's
 * imgimport ignores them (docs/bundles.md "Signed bundles and xCAT").
 */
export async function bundleSigningHook(ctx: Context, image: Image, imageDir: string, key?: string): Promise<FinishHook> {
  const signer = await openSigner({ key, agentSock: ctx.env.SSH_AUTH_SOCK, defaultKey: ctx.config["ssh.identity"] });
  ctx.log.info(`Signing the bundle with ${keyLabel(signer.publicKey)} (${signer.source}).`);
  let origin: Origin = { how: "unknown" };
  try {
    // a capture's manifest may still be due (pending.ts): its origin is in the marker
    origin = readPending(manifestPath(ctx.config, image))?.origin ?? readStoredManifest(ctx.config, image)?.manifest.origin ?? origin;
  } catch (e) {
    ctx.log.warn(`the stored manifest of ${image.name} is unreadable (${(e as Error).message}); the bundle's says its origin is unknown`);
  }
  return async (members) => {
    const manifest = computeManifest(ctx.config, image, origin);
    manifest.bundle = {
      dir: imageDir,
      members: members.filter((m) => listed(imageDir, m.name)).map((m) => statementMember(m.name, m.entry, m.sha256)),
    };
    const text = Buffer.from(manifestText(manifest));
    const sig = Buffer.from(await signMessage(signer, text));
    return [
      { name: MANIFEST_FILE, data: text },
      { name: MANIFEST_FILE + SIGNATURE_SUFFIX, data: sig },
    ];
  };
}
