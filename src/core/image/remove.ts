import { readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Context } from "../context";
import { findImage, getImage, listImages, removeImageRows } from "../defs/image";
import { DataError } from "../errors";
import { StagedRemoval } from "../fs/removal";
import { nodesBootingImage } from "./image-users";
import { imageFacts } from "./method-facts";
import { bootFilesDir, isInside, rootImgDir } from "./paths";
import { topRecordPath } from "./tree-barrier";

/**
 * The files of a diskless image that rmimage removes (xCAT rmimage, xcat.md §7), and the
 * litefile.csv an imported statelite bundle places next to them (core/bundle/import.ts).
 */
const NETBOOT_FILES =
  /^(rootimg|kernel|initrd-stateless\.gz|initrd-statelite\.gz|rootimg\..+|rootimg-statelite\.gz|litefile\.csv|\.rootimg(\.prev)?\.node-mode|\.xcimg-.*|xcimg-manifest\.json(\.sig|\.cache|\.pending)?)$/;

/**
 * Remove an image's rows and, with files, its root tree, packed archives and boot files.
 * Files are moved aside first and deleted only after the rows are gone, so a failure leaves
 * both as they were. Files outside installdir/tftpdir, or shared with another image, are
 * never removed.
 */
export async function removeImage(
  ctx: Context,
  name: string,
  opts: { files: boolean; keepDefinition?: boolean; force?: boolean },
): Promise<{ image: string; removed: string[]; directories: string[]; definitionKept: boolean }> {
  const db = ctx.db();
  const img = getImage(db, name);
  const staged = new StagedRemoval();
  if (opts.files && !opts.force) {
    const users = nodesBootingImage(db, name);
    if (users.length) {
      const shown = users.length > 20 ? `${users.slice(0, 20).join(",")},... (${users.length} nodes)` : users.join(",");
      throw new DataError(`refusing to remove the files of '${name}': nodes are still set to boot it: ${shown}`, {
        hint: `point them at another image first ('xcimg boot <noderange> -o <image>' or 'xcimg node set <noderange> provmethod=<image>'), or add --force`,
      });
    }
  }
  if (opts.files) {
    let dir: string | null = null;
    try {
      dir = resolve(rootImgDir(ctx.config, img));
    } catch {
      dir = null; // no osvers/profile: nothing was ever written for it
    }
    const facts = imageFacts(img.attrs.provmethod);
    if (dir && facts.tree !== null) {
      if (!isInside(dir, ctx.config.installdir)) {
        throw new DataError(`refusing to remove files of '${name}': its rootimgdir ${dir} is outside installdir ${ctx.config.installdir}`, {
          hint: "remove them by hand, or run 'xcimg image rm' without --files",
        });
      }
      const sharers = listImages(db).filter((other) => {
        if (other === name) return false;
        const o = findImage(db, other);
        try {
          return o !== null && resolve(rootImgDir(ctx.config, o)) === dir;
        } catch {
          return false;
        }
      });
      if (sharers.length) {
        throw new DataError(`refusing to remove files of '${name}': image ${sharers.join(", ")} uses the same directory ${dir}`, {
          hint: "run 'xcimg image rm' without --files, or remove the other image first",
        });
      }
      const own = facts.ownFiles?.(ctx.config, name) ?? []; // what the method keeps elsewhere (sysclone: clone/<image>)
      if (facts.tree === ".") {
        // the directory is the tree: capture's state and the manifest live beside it
        staged.add(dir);
        staged.add(join(dir, "..", `.xcimg-capture.${basename(dir)}`)); // capture's state and previous tree
        staged.add(topRecordPath(dir)); // the node's / (tree-barrier.ts)
        for (const p of own) staged.add(p);
        // the image manifest lives beside the tree (core/provenance/manifest.ts)
        for (const ext of ["", ".sig", ".cache", ".pending"]) staged.add(join(dir, "..", `${basename(dir)}.xcimg-manifest.json${ext}`));
      } else {
        for (const f of safeList(dir)) if (NETBOOT_FILES.test(f)) staged.add(join(dir, f));
        for (const p of own) staged.add(p);
      }
    }
    staged.add(bootFilesDir(ctx.config, name));
  }
  try {
    // rmimage (without --xcatdef) removes the files and keeps the definition
    if (!opts.keepDefinition) removeImageRows(db, name);
  } catch (e) {
    staged.rollback();
    throw e;
  }
  const removed = staged.paths;
  const directories = staged.directories;
  staged.commit();
  return { image: name, removed, directories, definitionKept: Boolean(opts.keepDefinition) };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
