import { posix } from "node:path";
import { DataError } from "../errors";
import type { ImportPlan, Placement } from "./import";
import { checkPlacedLink, type PlannedLink } from "./tree-links";

/**
 * An extra directory (`-e <dir>` at export) merges into its destination, so it is placed
 * entry by entry, planned before anything is extracted from the vetted members: each file
 * and symlink is a placement of its own (so an existing, different file is a conflict that
 * needs --force, an identical one is left alone — docs/bundles.md), each directory is made if
 * missing. Then every symlink those trees place is resolved against everything this import
 * places and what is already on disk, and must stay inside its own tree (tree-links.ts).
 */
export function expandExtraTrees(plan: ImportPlan): void {
  for (const img of plan.images) {
    const out: Placement[] = [];
    for (const p of img.placements) {
      if (!(p.tree && p.what === "extra")) {
        out.push(p);
        continue;
      }
      const prefix = `${p.from}/`;
      const dirs = new Set<string>([""]);
      out.push({ from: p.from, to: p.to, what: "extra", dir: true, treeRoot: p.to });
      const addDir = (rel: string) => {
        if (dirs.has(rel)) return;
        dirs.add(rel);
        out.push({ from: prefix + rel, to: posix.join(p.to, rel), what: "extra", dir: true, treeRoot: p.to });
      };
      for (const m of plan.bundle.members.values()) {
        if (!m.name.startsWith(prefix)) continue;
        const rel = m.name.slice(prefix.length);
        const parts = rel.split("/");
        for (let i = 1; i < parts.length; i++) addDir(parts.slice(0, i).join("/"));
        const to = posix.join(p.to, rel);
        if (m.entry.type === "dir") addDir(rel);
        else if (m.entry.type === "file") out.push({ from: m.name, to, what: "extra", sha256: m.sha256, size: m.entry.size, treeRoot: p.to });
        else if (m.entry.type === "symlink") out.push({ from: m.name, to, what: "extra", linkname: m.entry.linkname, treeRoot: p.to });
        else throw new DataError(`bundle member '${m.name}' is a ${m.entry.type}; an extra directory holds files, directories and symlinks only`);
      }
    }
    img.placements = out;
  }
}

/** Refuse any symlink an extra directory places whose target leaves that directory's tree. */
export function checkExtraLinks(plan: ImportPlan): void {
  const planned = new Map<string, PlannedLink>();
  for (const img of plan.images) {
    for (const p of img.placements) {
      if (p.tree) continue;
      planned.set(p.to, p.dir ? { type: "dir" } : p.linkname !== undefined ? { type: "symlink", linkname: p.linkname } : { type: "file" });
    }
  }
  for (const img of plan.images) for (const p of img.placements) if (p.linkname !== undefined && p.treeRoot) checkPlacedLink(planned, p.to, p.treeRoot, p.from);
}
