import { readFileSync, realpathSync } from "node:fs";

/**
 * The options of the mount holding `path`, from /proc/self/mountinfo (proc(5): field 5 is
 * the mount point with spaces etc. as octal escapes, field 6 the per-mount options, where
 * nosuid and nodev live). The longest mount point that is a prefix of the real path wins,
 * and a later line for the same mount point (mounted over) replaces an earlier one.
 */
export function mountOptionsOf(path: string, mountinfo = readMountinfo()): Set<string> | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null;
  }
  let best: { point: string; opts: string } | null = null;
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    if (f.length < 6) continue;
    const point = unescapeOctal(f[4] as string);
    const inside = point === "/" || real === point || real.startsWith(`${point}/`);
    if (!inside) continue;
    if (!best || point.length >= best.point.length) best = { point, opts: f[5] as string };
  }
  return best ? new Set(best.opts.split(",")) : null;
}

/** Which of nosuid, nodev the filesystem holding `path` lacks (empty when it has both, or cannot be told). */
export function missingMountSafety(path: string, mountinfo?: string): string[] {
  const opts = mountOptionsOf(path, mountinfo);
  if (!opts) return [];
  return ["nosuid", "nodev"].filter((o) => !opts.has(o));
}

function readMountinfo(): string {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return "";
  }
}

const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
