import { lstatSync, readlinkSync } from "node:fs";
import { posix } from "node:path";
import { DataError } from "../errors";
import { isInside } from "../image/paths";
import { printableName } from "./tar";

/**
 * Symlinks of an extra directory must stay inside that directory's own destination tree.
 * Such a tree lands in installdir (or an --allow-dest directory), which a web server serves:
 * a link to `/` there would publish the whole management node, and a link to a directory
 * elsewhere lets a second extra write through it. (Links inside an image's root tree are the
 * OS's own and are not checked here; that tree is never placed file by file.)
 *
 * The target is resolved as the kernel will resolve it once everything is in place, in
 * destination space: over what this import places (`planned`), then what is already on disk.
 * `..` pops a component; a component that is a symlink is followed and what it points to
 * replaces the path walked so far — so `x -> y/..` with `y -> .` (two extras, or an earlier
 * import's link) is resolved physically, not lexically. The walk may never leave the tree,
 * not even for a step; a bundle's own absolute target is refused outright (it names the
 * management node's files, not the tree's).
 */
export interface PlannedLink {
  type: "file" | "dir" | "symlink";
  linkname?: string;
}

const MAX_HOPS = 40; // Linux's MAXSYMLINKS

type Lookup = (path: string) => PlannedLink | null;

function onDisk(path: string): PlannedLink | null {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return { type: "symlink", linkname: readlinkSync(path, "latin1") };
    return { type: st.isDirectory() ? "dir" : "file" };
  } catch {
    return null;
  }
}

/** Refuse the planned symlink at `link` (absolute destination path) unless it resolves inside `root`. */
export function checkPlacedLink(planned: Map<string, PlannedLink>, link: string, root: string, shownAs: string): void {
  const me = planned.get(link);
  if (me?.type !== "symlink") return;
  const target = me.linkname ?? "";
  const fail = (why: string) =>
    new DataError(`bundle member '${printableName(shownAs)}' is a symlink to '${printableName(target)}', ${why}`, {
      hint: `a symlink an extra directory places must point inside that directory (${printableName(root)})`,
    });
  if (target.startsWith("/")) throw fail("an absolute path");
  if (target === "") throw fail("an empty target");
  const lookup: Lookup = (p) => planned.get(p) ?? onDisk(p);
  if (resolve(lookup, link, root, { left: MAX_HOPS }) === null) throw fail(`which leads outside ${printableName(root)}`);
}

/** Where the symlink at `link` ends, or null if the walk leaves `root`, loops or is too deep. */
function resolve(lookup: Lookup, link: string, root: string, hops: { left: number }): string | null {
  // one budget for the whole resolution, as the kernel counts the links followed per lookup
  if (hops.left-- <= 0) return null;
  const me = lookup(link);
  if (me?.type !== "symlink") return link;
  const target = me.linkname ?? "";
  let at = posix.dirname(link);
  let parts = target.split("/");
  if (target.startsWith("/")) {
    // only a link already on disk gets here (planned ones are refused above): walk it from root
    const n = posix.normalize(target);
    if (parts.includes("..") || !isInside(n, root)) return null;
    at = root;
    parts = n.slice(root.length).split("/");
  }
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    at = p === ".." ? posix.dirname(at) : posix.join(at, p);
    if (!isInside(at, root)) return null;
    if (p !== ".." && lookup(at)?.type === "symlink") {
      const r = resolve(lookup, at, root, hops);
      if (r === null) return null;
      at = r;
    }
  }
  return at;
}
