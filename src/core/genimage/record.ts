import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic";

/**
 * <rootimgdir>/genimage.json: how the tree was built — the inputs and their digest, the kernel,
 * and every installed package with its version, read from the tree's own package database.
 */
export interface GenimageRecord {
  version: 1;
  image: string;
  osvers: string;
  osarch: string;
  profile: string;
  backend: string;
  built: string;
  seconds: number;
  fresh: boolean;
  insecure: boolean;
  inputs: { digest: string; pkglist: string; otherpkglist: string; pkgdir: string; otherpkgdir: string; postinstall: string; sources: string[] };
  kernel: { version: string; path: string } | null;
  packages: { name: string; version: string; arch: string }[];
}

export function recordPath(rootimgdir: string): string {
  return join(rootimgdir, "genimage.json");
}

export function writeRecord(rootimgdir: string, rec: GenimageRecord): void {
  writeFileAtomic(recordPath(rootimgdir), `${JSON.stringify(rec, null, 2)}\n`, 0o644);
}
