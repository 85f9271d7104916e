import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "../fs/lock";
import type { Logger } from "../log";

/**
 * Temporary files a killed pack or lite left in the image directory (SIGKILL, power loss: no
 * `finally` ran). Their names carry the writer's pid (fs/atomic.ts tempNameFor, squashfs.ts's
 * staging copy); the caller holds the image directory's lock, and those whose process is gone
 * are removed. A temp file of a live process (boot writing initrd-statelite.gz beside the tree)
 * is left alone.
 */
const TEMP = /^\..+\.xcimg-tmp\.(\d+)\.[a-z0-9]+$/;
const SFS_STAGING = /^\.xcimg-sfs\.(\d+)$/;

export function removeDeadTemps(dir: string, log: Logger): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP.exec(n) ?? SFS_STAGING.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    const p = join(dir, n);
    try {
      rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch (e) {
      log.warn(`cannot remove ${p}, left by an xcimg process that is gone: ${(e as Error).message}`);
    }
  }
  if (removed.length) log.info(`removed what an interrupted xcimg left (its process is gone): ${removed.join(" ")}`);
  return removed;
}
