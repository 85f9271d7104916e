import { readlinkSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsError } from "../../core/errors";
import { lstatOrNull } from "../../core/image/image-root";
import { isLinkOption } from "../../core/tables/litefile-options";
import { copyA, mkdirp, rmrf, touch, unlinkIfPresent } from "./fsops";
import { buildHierarchy, type Hierarchy, stripSlash } from "./hierarchy";
import type { LiteCtx } from "./lite-item";
import type { LiteEntry } from "./litefile";

/**
 * What an entry looks like in the image: its option, and for link-based entries whether it
 * owns a symlink chain (top level, /etc/mtab, or a directory key under a non-link parent) or
 * is only content inside its linked parent's .default copy.
 */
function role(h: Hierarchy, e: LiteEntry): string {
  if (!isLinkOption(e.options)) return e.options;
  const parent = h.parentOf.get(e.file) ?? null;
  const chain = !parent || (!isLinkOption(parent.options) && (h.children.has(e.file) || stripSlash(e.file) === "/etc/mtab"));
  return `${e.options}${chain ? "" : " (inside its parent)"}`;
}

/**
 * liteimg's re-run handling: every entry of the previous run (.statelite/litefile.save) that is
 * gone, or whose option or place in the hierarchy changed, is reverted so the new list is
 * applied to the original file. Returns the reverted files.
 *
 * xCAT compares only options (an entry moving under a new linked parent keeps a stale chain)
 * and, reverting, deletes non-link entries from the image (`rm -rf <rootimg><f>`: a removed
 * tmpfs entry loses its file) and runs `rm -rf .statelite/tmpfs<f>/`, whose trailing slash
 * empties the .default directory behind the link. xcimg reverts without losing content.
 */
export async function recoverChanged(c: LiteCtx, oldList: readonly LiteEntry[], newList: readonly LiteEntry[]): Promise<string[]> {
  const oldH = buildHierarchy(oldList);
  const newH = buildHierarchy(newList);
  const recovered: string[] = [];
  for (const e of oldH.entries) {
    const now = newH.byFile.get(e.file);
    if (now && role(oldH, e) === role(newH, now)) continue;
    c.log.debug(`${e.file}: ${now ? `${e.options} -> ${now.options}` : "removed"}; reverting`);
    if (isLinkOption(e.options)) await recoverLink(c, e);
    else recoverCopy(c, e, newH);
    recovered.push(e.file);
  }
  return recovered;
}

/** Put the original back where the chain was: a copy of .default<f>, moved in with rename. */
async function recoverLink(c: LiteCtx, e: LiteEntry): Promise<void> {
  const { img } = c;
  const f = stripSlash(e.file);
  const host = img.at(f);
  const st = lstatOrNull(host);
  if (st?.isSymbolicLink() && readlinkSync(host).includes(".statelite/tmpfs")) {
    const def = img.at(`/.default${f}`);
    if (lstatOrNull(def)) {
      const staged = join(img.follow("/.statebackup"), f);
      mkdirp(dirname(staged));
      await copyA(def, staged, c.signal);
      try {
        unlinkIfPresent(host);
        renameSync(staged, host);
      } catch (err) {
        throw fsError(err, `cannot restore ${host}`);
      }
    } else {
      unlinkIfPresent(host); // someone deleted the .default copy: an empty one, as xCAT does
      if (e.file.endsWith("/")) mkdirp(host);
      else touch(host);
    }
    rmrf(def);
  }
  const chainLink = img.literal(`/.statelite/tmpfs${f}`, "/.statelite/tmpfs");
  if (chainLink) rmrf(chainLink);
}

/**
 * A tmpfs/persistent/ro/con/localdisk entry never left the image; only its .default copy is
 * stale. It is dropped unless an entry of the new list lives below it (its copy is in there).
 */
function recoverCopy(c: LiteCtx, e: LiteEntry, newH: Hierarchy): void {
  const { img } = c;
  const f = stripSlash(e.file);
  const live = img.resolve(f, true);
  const def = img.at(`/.default${f}`);
  if (live.host === def || live.viaDefault) return;
  if (newH.entries.some((n) => n.file !== e.file && stripSlash(n.file).startsWith(`${f}/`))) return;
  rmrf(def);
}
