import type { VettedBundle } from "../bundle/vet";
import type { Context } from "../context";
import { DataError } from "../errors";
import { compareStatement, listed, parseStatement, statementMember } from "./bundle-statement";
import { type ImageManifest, MANIFEST_FILE, parseManifest } from "./manifest";
import { judgeSignature, trustPolicy, type Verdict } from "./trust";

/**
 * import's provenance check, run on the vetted bundle before anything is extracted
 * (bundle/vet.ts calls it ahead of the checksum file): for each image directory, the
 * signature over xcimg-manifest.json is checked against [trust] allowed_signers, then every
 * member is compared with the manifest's statement of the bundle. Refusals name the signer
 * and what differs (docs/provenance.md "Verification").
 */
export interface BundleProvenance {
  dir: string;
  verdict: Verdict;
  /** The signed manifest's exact bytes and parsed content (null for an unsigned bundle). */
  text: Buffer | null;
  manifest: ImageManifest | null;
  signature: string | null;
}

export function checkBundleProvenance(ctx: Context, bundle: VettedBundle): BundleProvenance[] {
  const policy = trustPolicy(ctx);
  const out: BundleProvenance[] = [];
  if (policy.mode === "off") return out;
  for (const img of bundle.images) {
    const what = `bundle image ${img.dir || "(manifest.cfg)"}`;
    const text = img.signedManifest ?? null;
    const signature = img.signature ? img.signature.toString("utf8") : null;
    if (signature !== null && text === null)
      throw new DataError(`${what} has ${MANIFEST_FILE}.sig but no ${MANIFEST_FILE}`, { hint: "the bundle is incomplete or was altered" });
    const verdict = judgeSignature(ctx, policy, what, text ?? Buffer.alloc(0), text === null ? null : signature);
    if (text === null) {
      out.push({ dir: img.dir, verdict, text: null, manifest: null, signature: null });
      continue;
    }
    const where = `${img.dir}/${MANIFEST_FILE}`;
    const manifest = parseManifest(text.toString("utf8"), where);
    let statement: ReturnType<typeof parseStatement>;
    try {
      statement = parseStatement(manifest.bundle, where);
    } catch (e) {
      throw new DataError((e as Error).message);
    }
    if (!statement)
      throw new DataError(`${where} does not describe the bundle's members`, {
        hint: "it is an image manifest, not a bundle's; export with 'xcimg export --sign'",
      });
    if (statement.dir !== img.dir) throw new DataError(`${where} was signed for image directory '${statement.dir}', not '${img.dir}'`);
    const actual = [...bundle.members.values()].filter((m) => listed(img.dir, m.name)).map((m) => statementMember(m.name, m.entry, m.sha256));
    const diffs = compareStatement(statement.members, actual);
    if (diffs.length)
      throw new DataError(`${what} differs from what ${verdict.signer} signed:\n  ${diffs.join("\n  ")}`, {
        hint: "the bundle was altered after it was signed; nothing was imported — get a good copy from whoever made it",
      });
    if (verdict.signed) ctx.log.info(`${what}: signature by ${verdict.signer} verified; every member matches.`);
    else ctx.log.info(`${what}: members match its (unsigned) manifest.`);
    out.push({ dir: img.dir, verdict, text, manifest, signature: verdict.signed ? signature : null });
  }
  return out;
}
