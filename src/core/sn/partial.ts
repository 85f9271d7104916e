import { createHash } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import { fsError } from "../errors";

/**
 * Where rsync keeps a file it was receiving when a sync was interrupted (--partial-dir), so the
 * next sync resumes inside it instead of from byte 0. The staged copy cannot be resumed (its
 * files may be hard links of the served generation), but a partial file is a fresh file rsync
 * made for the new data, never a link of a served one. One directory per served directory,
 * named by a hash of its path, under installdir (the same filesystem, so rsync renames rather
 * than copies) and hidden from the web server by the leading dot, like .xcimg-sn-stage.
 */
export const partialRoot = (cfg: Pick<Config, "installdir">) => join(cfg.installdir, ".xcimg-sn-partial");

export function partialDirOf(root: string, servedDir: string): string {
  return join(root, createHash("sha256").update(servedDir).digest("hex").slice(0, 16));
}

/** The root, private (rsync's advice: a partial-dir others can write to is a risk); rsync makes the last level itself. */
export function preparePartialRoot(root: string): void {
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot prepare ${root}`);
  }
}

export function dropPartials(root: string, servedDirs: readonly string[]): void {
  for (const d of servedDirs) rmSync(partialDirOf(root, d), { recursive: true, force: true });
}
