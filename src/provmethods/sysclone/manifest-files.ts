import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../core/config/schema";
import { cloneDir } from "./paths";

/** What `clone` prepares for nodes (artifacts.ts): the kernel, the clone environment, the disk archive. */
const CLONE_ARTIFACT = /^(kernel|cloneenv\.cpio\.gz|rootimg\.tar\.(gz|zst))$/;

/** The files nodes clone from, for the image manifest, as clone/<file> (core/provenance/manifest.ts). */
export function cloneArtifacts(config: Config, image: string): Map<string, string> {
  const out = new Map<string, string>();
  const dir = cloneDir(config, image);
  try {
    const names = readdirSync(dir)
      .filter((n) => CLONE_ARTIFACT.test(n) && statSync(join(dir, n)).isFile())
      .sort();
    for (const n of names) out.set(`clone/${n}`, join(dir, n));
  } catch {
    // no clone prepared yet (or it vanished while listed): nothing to record
  }
  return out;
}
