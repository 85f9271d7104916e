import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Work files a killed xcimg (kill -9, a crash, a power cut) leaves behind: import's staging
 * trees `<installdir>/.xcimg/import.<pid>.<time>`, export's `.xcimg-export.<pid>.*` staging
 * and `.<bundle>.xcimg-tmp-<pid>` next to the bundle. Each name carries its owner's pid; the
 * next run of the same command removes those whose process is gone. A live pid (the owner, or
 * an unrelated process that reused the number) keeps its files: removing a running import's
 * staging would be worse than leaving a dead one's.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Remove the entries of `dir` whose name matches `pattern` (group 1: the pid) and whose pid is dead. */
export function removeStale(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    } catch {
      // not ours to fight over: the next run tries again
    }
  }
  return removed;
}

export const IMPORT_STAGING = /^import\.(\d+)\.\d+$/;
export const EXPORT_STAGING = /^\.xcimg-export\.(\d+)\./;
export const EXPORT_TMP = /^\..*\.xcimg-tmp-(\d+)$/;
export const PLACEMENT_LEFTOVER = /^\.xcimg-(?:old|new)\.(\d+)\./;
