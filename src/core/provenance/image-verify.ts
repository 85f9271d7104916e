import type { Context } from "../context";
import type { Image } from "../defs/image";
import { DataError, NotFoundError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import {
  artifactFiles,
  editedEntries,
  type ImageManifest,
  identityOf,
  readStoredManifest,
  refreshManifest,
  SIGNATURE_SUFFIX,
  settlePending,
  treeOf,
} from "./manifest";
import { openSigner, signMessage } from "./signer";
import { keyLabel } from "./sshsig";
import { digestFile, digestTree, getfattrAvailable } from "./tree-digest";
import { judgeSignature, trustPolicy } from "./trust";

/**
 * `xcimg image verify` and `xcimg image sign`: an image on disk against its manifest and the
 * manifest against its signature and the site's allowed_signers.
 */
export interface ImageVerification {
  image: string;
  manifest: string;
  signed: boolean;
  signer: string;
  checked: string[];
  /** What could not be checked here (a netboot image imported without its root tree). */
  notes: string[];
}

/** `walked`: the tree digest just computed by reading every file (settlePending without cache), so the check need not read the tree twice. */
function differences(ctx: Context, img: Image, m: ImageManifest, walked?: ImageManifest["tree"]): { diffs: string[]; checked: string[]; notes: string[] } {
  const diffs: string[] = [];
  const checked: string[] = [];
  const notes: string[] = [];
  const id = identityOf(img);
  for (const k of ["name", "provmethod", "osvers", "osarch", "profile"] as const) {
    if (m.identity[k] !== id[k]) diffs.push(`identity: ${k} is '${id[k]}', the manifest says '${m.identity[k]}'`);
  }
  const onDisk = artifactFiles(ctx.config, img);
  for (const [rel, want] of Object.entries(m.artifacts)) {
    const abs = onDisk.get(rel);
    onDisk.delete(rel);
    if (!abs) {
      diffs.push(`missing: ${rel} (sha256:${want.sha256})`);
      continue;
    }
    const got = digestFile(abs);
    if (got.sha256 !== want.sha256 || got.size !== want.size)
      diffs.push(`changed: ${rel} (sha256:${want.sha256} ${want.size} bytes → sha256:${got.sha256} ${got.size} bytes)`);
    else checked.push(rel);
  }
  for (const rel of onDisk.keys()) diffs.push(`added: ${rel} (not in the manifest)`);
  if (m.tree) {
    const tree = treeOf(ctx.config, img);
    const xattrs = m.tree.xattrs === true;
    if (tree && xattrs && !getfattrAvailable())
      diffs.push(`cannot check the extended attributes of root tree ${m.tree.path}: getfattr (package attr) is not installed`);
    const reuse = walked && tree && walked.path === m.tree.path && walked.xattrs === xattrs ? walked : null;
    const fresh = reuse ?? (tree && (!xattrs || getfattrAvailable()) ? digestTree(tree.abs, { xattrs }) : null);
    if (!tree) notes.push(`the root tree ${m.tree.path} is not on this management node (a bundle carries the packed image only); not checked`);
    else if (!fresh) {
      // reported above: getfattr is missing
    } else if (fresh.sha256 !== m.tree.sha256)
      diffs.push(
        `changed: root tree ${m.tree.path} (sha256:${m.tree.sha256}, ${m.tree.entries} entries, ${m.tree.bytes} bytes → sha256:${fresh.sha256}, ${fresh.entries} entries, ${fresh.bytes} bytes)`,
      );
    else checked.push(`root tree ${m.tree.path} (${fresh.entries} entries)`);
  }
  return { diffs, checked, notes };
}

export function verifyImage(ctx: Context, img: Image): ImageVerification {
  // a capture's manifest still due (pending.ts): computed now by reading every file, and
  // refused if anything changed on this management node after the capture
  const settled = settlePending(ctx, img, { cache: false, write: true });
  if (settled?.editedAfter) {
    throw new DataError(
      `image ${img.name} differs from what was captured at ${settled.since}:\n  changed: root tree ${settled.manifest.tree?.path ?? ""}: ${editedEntries(settled.editedAfter)} changed on this management node after the capture`,
      { hint: `if the change is yours, record it with 'xcimg image sign ${img.name}'; otherwise capture the image again` },
    );
  }
  const stored = readStoredManifest(ctx.config, img);
  if (!stored)
    throw new NotFoundError(`image ${img.name} has no manifest`, {
      hint: `pack, lite, capture and import write one; 'xcimg image sign ${img.name}' makes and signs it`,
    });
  const policy = trustPolicy(ctx);
  const verdict =
    policy.mode === "off"
      ? { signed: stored.signature !== null, signer: 'not checked ([trust] require = "off")', principals: [], key: null }
      : judgeSignature(ctx, policy, `the manifest of image ${img.name}`, Buffer.from(stored.text), stored.signature);
  const { diffs, checked, notes } = differences(ctx, img, stored.manifest, settled?.stored ? settled.manifest.tree : undefined);
  if (diffs.length)
    throw new DataError(`image ${img.name} differs from its manifest (signed by ${verdict.signer}):\n  ${diffs.join("\n  ")}`, {
      hint: `if the change is yours, record it with 'xcimg image sign ${img.name}'; otherwise restore the image from a good copy`,
    });
  return { image: img.name, manifest: stored.path, signed: verdict.signed, signer: verdict.signer, checked, notes };
}

export async function signImage(
  ctx: Context,
  img: Image,
  key?: string,
): Promise<{ image: string; manifest: string; signature: string; key: string; changed: boolean }> {
  const signer = await openSigner({ key, agentSock: ctx.env.SSH_AUTH_SOCK, defaultKey: ctx.config["ssh.identity"] });
  // sign what is on disk now: a stale manifest is refreshed first (and says so)
  const r = refreshManifest(ctx, img);
  const stored = readStoredManifest(ctx.config, img);
  if (!stored) throw new NotFoundError(`cannot write the manifest of ${img.name} (${r.path}): the image directory does not exist`);
  if (r.changed) ctx.log.info(`Refreshed ${r.path} from the image's files.`);
  const sig = await signMessage(signer, Buffer.from(stored.text));
  writeFileAtomic(stored.path + SIGNATURE_SUFFIX, sig, 0o644);
  return {
    image: img.name,
    manifest: stored.path,
    signature: stored.path + SIGNATURE_SUFFIX,
    key: `${keyLabel(signer.publicKey)} (${signer.source})`,
    changed: r.changed,
  };
}
