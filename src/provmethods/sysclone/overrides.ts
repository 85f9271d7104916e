import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../core/config/schema";
import { fsError } from "../../core/errors";
import { isDir } from "../../core/fs/predicates";
import { archiveTree } from "../../core/pack/archive-tree";
import { SUFFIX } from "../../core/pack/compress";
import { PathFilter } from "../../core/pack/exlist";
import { overridesDir, packedOverridesDir } from "./paths";

/**
 * Overrides (SystemImager's and xCAT sysclone's <installdir>/sysclone/overrides/<name>/): file
 * trees laid over the image once it is on the disk, shared between images. A node gets, in this
 * order, so that the more specific wins:
 *
 *   1. the override named after the image
 *   2. one per group of the node, in the order of its groups attribute
 *   3. the override named after the node
 *
 * Names that have no directory are skipped. Each tree is packed once (pax tar, compressed the
 * way the image can decompress) into <installdir>/sysclone/clone/.overrides/, and packed again
 * only when something in it changed.
 */
export function overrideChain(config: Config, image: string, groups: string[], node: string): string[] {
  const root = overridesDir(config);
  const names = [image, ...groups, node].filter((n, i, all) => n && all.indexOf(n) === i);
  return names.filter((n) => isDir(join(root, n)));
}

export function groupsOf(groupsAttr: string | undefined): string[] {
  return (groupsAttr ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
}

/** Pack the override `name` if needed; returns the archive's path. */
export async function packOverride(config: Config, name: string, compression: "gzip" | "zstd", signal: AbortSignal): Promise<string> {
  const src = join(overridesDir(config), name);
  const outDir = packedOverridesDir(config);
  try {
    mkdirSync(outDir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${outDir}`);
  }
  const out = join(outDir, `${name}.tar.${SUFFIX[compression]}`);
  if (existsSync(out) && !(await changedSince(src, out))) return out;
  await archiveTree({ tree: src, out, method: "tar", compression, filter: new PathFilter({ excludes: [], includes: [] }), signal });
  return out;
}

async function changedSince(tree: string, ref: string): Promise<boolean> {
  const p = Bun.spawn(["find", tree, "-cnewer", ref, "-print", "-quit"], { stdout: "pipe", stderr: "ignore" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return out.trim() !== "";
}
