import { dirname } from "node:path";
import { InterruptedError } from "../errors";
import { atomicFile } from "../fs/atomic";
import { nodeTop, type TreeTop, withTopMode } from "../image/tree-barrier";
import { type Compression, createSink } from "./compress";
import { assertFitsCpio, writeCpio } from "./cpio-archive";
import type { PathFilter } from "./exlist";
import { archiveFailure } from "./failure";
import { writeTar } from "./tar-archive";
import { type WalkResult, walkTree } from "./walk";

/**
 * A filtered tree as one compressed archive file, replaced atomically: the building block of
 * `xcimg pack` and of anything else that packs an image tree (liteimg's rootimg-statelite.gz,
 * export's rootimgtree.gz). The file appears complete or not at all; on failure or Ctrl-C the
 * previous one stays and no temporary file is left.
 *
 * The archive's `.` is the node's `/`: it carries the top the tree was captured or imported
 * with (image/tree-barrier.ts), not the 0700 that keeps the MN's local users out of the tree.
 */
export interface ArchiveTreeRequest {
  tree: string;
  out: string;
  method: "cpio" | "tar";
  compression: Compression;
  filter: PathFilter;
  /** Stay on the tree's filesystem, as `find -xdev` (default true). */
  xdev?: boolean;
  mode?: number;
  /** What `.` becomes; default: the tree's recorded top (nodeTop). */
  top?: TreeTop;
  signal?: AbortSignal;
}

export interface ArchiveTreeResult {
  walk: WalkResult;
  /** Bytes before compression and on disk. */
  archiveBytes: number;
  packedBytes: number;
}

export async function archiveTree(r: ArchiveTreeRequest): Promise<ArchiveTreeResult> {
  const walk = walkTree(r.tree, r.filter, { xdev: r.xdev });
  applyTop(walk, r.top ?? nodeTop(r.tree));
  if (r.method === "cpio") assertFitsCpio(walk.entries);
  const file = atomicFile(r.out, r.mode ?? 0o644);
  try {
    const sink = createSink({ fd: file.fd, compression: r.compression });
    let archiveBytes: number;
    let packedBytes: number;
    try {
      archiveBytes = r.method === "cpio" ? await writeCpio(r.tree, walk.entries, sink, r.signal) : await writeTar(r.tree, walk.entries, sink, r.signal);
      packedBytes = await sink.finish();
    } catch (e) {
      sink.abort();
      throw e;
    }
    if (r.signal?.aborted) throw new InterruptedError("interrupted; the previous packed image is untouched");
    file.commit();
    return { walk, archiveBytes, packedBytes };
  } catch (e) {
    file.discard();
    throw archiveFailure(e, `cannot write ${r.out}`, dirname(r.out));
  }
}

/** Give the walk's root entry (`.`) the node's `/` mode and owner. */
export function applyTop(walk: WalkResult, top: TreeTop): void {
  const root = walk.entries.find((e) => e.rel.length === 1 && e.rel[0] === 0x2e);
  if (!root) return;
  root.mode = withTopMode(root.mode, top);
  root.uid = top.uid;
  root.gid = top.gid;
}
