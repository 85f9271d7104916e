import { mkdirSync, rmSync } from "node:fs";
import { join, posix } from "node:path";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { fsError } from "../../core/errors";
import { ImageRoot } from "../../core/image/image-root";
import { archiveTree } from "../../core/pack/archive-tree";
import { SUFFIX } from "../../core/pack/compress";
import { PathFilter } from "../../core/pack/exlist";
import { applySync, ORG_DIR } from "../../core/synclist/apply";
import { ImageTarget } from "../../core/synclist/image-target";
import { imageSynclists, readSynclist } from "../../core/synclist/locate";
import { planSync, type SyncPlan } from "../../core/synclist/plan";
import { packedOverridesDir } from "./paths";

/**
 * The image's synclists for its clones, applied at clone time as xCAT applies them to an
 * installed node (its syncfiles postscript at the end of the install): the entries for every
 * node, staged on the management node into a small tree that is packed like an override and
 * unpacked onto each clone's disk after its overrides, so a synclist wins over them. The
 * captured image tree stays as captured, and its disk archive is not rebuilt. APPEND and MERGE
 * start from the image's own file (and APPEND's saved original), read from the tree without
 * following a link (core/synclist/image-target.ts). Entries with a noderange, and EXECUTE
 * scripts, are left to `xcimg updatenode -F`, as pack leaves them.
 */
export interface CloneSynclists {
  files: string[];
  plans: SyncPlan[];
}

/** The image's synclists, parsed and planned: a bad line stops the clone before any node is touched. */
export function planCloneSynclists(ctx: Context, img: Image): CloneSynclists {
  const files = imageSynclists(ctx.config, img);
  return { files, plans: files.map((f) => planSync(readSynclist(f), null)) };
}

/** Where the staged synclists of an image are packed (an override named `synclists` would be synclists.tar.*, a file: no clash). */
function synclistsDir(ctx: Context): string {
  return join(packedOverridesDir(ctx.config), "synclists");
}

/** Stage and pack the synclists; returns the archive, or null when the image has none (an old archive is removed). */
export async function packCloneSynclists(ctx: Context, img: Image, tree: string, s: CloneSynclists, compression: "gzip" | "zstd"): Promise<string | null> {
  const dir = synclistsDir(ctx);
  const out = join(dir, `${img.name}.tar.${SUFFIX[compression]}`);
  if (s.files.length === 0) {
    rmSync(out, { force: true });
    return null;
  }
  const stage = join(dir, `${img.name}.stage`);
  try {
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${stage}`);
  }
  try {
    const image = new ImageTarget(tree);
    const root = new ImageRoot(tree);
    const staged = new ImageTarget(stage);
    for (const [i, plan] of s.plans.entries()) {
      // APPEND and MERGE change the image's file: start from it (and from APPEND's kept original)
      for (const op of plan.ops) {
        if (op.op !== "append" && op.op !== "merge") continue;
        for (const p of op.op === "append" ? [op.dest, posix.join(ORG_DIR, op.dest)] : [op.dest]) {
          const data = await image.read(p);
          if (data) await staged.write(p, data, (root.lstat(p)?.mode ?? 0o644) & 0o7777); // the image's own mode, resolved in the tree
        }
      }
      const r = await applySync(plan, staged);
      ctx.log.info(
        `synclist ${s.files[i]}: ${r.changed.length} file(s) for the clones${r.appended.length ? `, appended to ${r.appended.join(" ")}` : ""}${r.merged.length ? `, merged into ${r.merged.join(" ")}` : ""}`,
      );
      for (const w of r.warnings) ctx.log.warn(w);
      if (r.notForTarget.length) ctx.log.info(`synclist entries for some nodes only (${r.notForTarget.join(", ")}): applied by 'xcimg updatenode -F'`);
      if (r.notRun.length) ctx.log.info(`not run at clone time (run on the clones by 'xcimg updatenode -F'): ${r.notRun.join(" ")}`);
    }
    await archiveTree({ tree: stage, out, method: "tar", compression, filter: new PathFilter({ excludes: [], includes: [] }), signal: ctx.signal });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}
