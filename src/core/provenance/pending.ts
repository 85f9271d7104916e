import { readFileSync, rmSync, statSync } from "node:fs";
import { DataError, fsError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import type { Origin } from "./manifest";

/**
 * A captured tree whose manifest is due (docs/provenance.md "After a capture").
 *
 * Computing the root-tree digest right after every capture re-read the whole tree and made
 * capture slower than a plain `ssh tar | tar` pipe and a re-capture slower than rsync (issue
 * #21, docs/bench/capture.md). Computing it from the stream instead was rejected: the tree on
 * disk is what tar made of the stream *plus* what capture does after (identity removed,
 * fstab rewritten, the top directory sealed), and ACLs and xattrs reach the disk in another
 * form than the pax records carry, so a digest of the stream would have to re-implement tar
 * to stay exact. Instead capture records, in `<manifest>.pending`, that the tree was captured
 * and when; the digest is computed from the disk when it is first needed (image show
 * --manifest, image verify, image sign, export --sign, or the next pack/lite/clone).
 *
 * Two things keep that as strong as the eager digest:
 *  - what is computed later is always the tree as it is then (a digest cache keyed by inode,
 *    size, mtime and ctime in ns, never trusted for files changed just before the walk:
 *    tree-digest.ts), so no command reports the digest of a tree that changed since;
 *  - an edit made on this management node between the capture and that first digest is still
 *    caught: ctime cannot be set from user space, so every entry changed, created, removed,
 *    renamed, chmod-ed or re-labelled after the capture has (or its directory has) a ctime
 *    after the `barrier` — capture's own state file (core/capture/tree.ts), written after the
 *    new tree is swapped in and moved forward only by capture itself. `image verify` refuses
 *    such a tree (65) and names the entry, as it refused a tree that differed from the digest
 *    recorded at capture; `image sign` records it (signing is the admin saying "this is it").
 *
 * The manifest the capture replaced and its signature are kept in the marker (`previous`): if
 * the tree turns out unchanged, they are put back byte for byte, signature included, as when
 * the digest was computed at once. While the marker exists no manifest is stored, so none can
 * be read (by xcimg or by hand with ssh-keygen) that does not describe the tree.
 */
export const PENDING_FORMAT = "xcimg-manifest-pending/1";
export const PENDING_SUFFIX = ".pending";

export interface PendingManifest {
  format: typeof PENDING_FORMAT;
  /** When the capture finished: the manifest's `made` if its content is new. */
  since: string;
  origin: Origin;
  /** A file whose mtime is the capture's end: entries with a later ctime changed after it. */
  barrier: string;
  previous: { text: string; signature: string | null } | null;
}

export function readPending(manifestFile: string): PendingManifest | null {
  const path = manifestFile + PENDING_SUFFIX;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw fsError(e, `cannot read ${path}`);
  }
  let p: Partial<PendingManifest>;
  try {
    p = JSON.parse(text) as Partial<PendingManifest>;
  } catch (e) {
    throw new DataError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (p.format !== PENDING_FORMAT || typeof p.since !== "string" || typeof p.barrier !== "string" || !p.origin)
    throw new DataError(`${path} is not an xcimg pending-manifest record (format ${PENDING_FORMAT})`);
  return { previous: null, ...p } as PendingManifest;
}

export function writePending(manifestFile: string, p: Omit<PendingManifest, "format">): void {
  writeFileAtomic(manifestFile + PENDING_SUFFIX, `${JSON.stringify({ format: PENDING_FORMAT, ...p }, null, 2)}\n`, 0o600);
}

export function clearPending(manifestFile: string): void {
  rmSync(manifestFile + PENDING_SUFFIX, { force: true });
}

/**
 * The barrier's time in ns. Without it (the capture's work area was removed by hand) nothing
 * can say what changed after the capture, so every entry counts as changed: `image verify`
 * then refuses until the admin records the tree with `image sign` — never a silent pass.
 */
export function barrierNs(p: PendingManifest): bigint {
  try {
    return statSync(p.barrier, { bigint: true }).mtimeNs;
  } catch {
    return -1n;
  }
}
