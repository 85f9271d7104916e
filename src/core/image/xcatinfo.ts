import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fsError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import { ImageRoot } from "./image-root";

/**
 * /opt/xcat/xcatinfo as xCAT's packimage and liteimg write it (IMAGENAME, a new IMAGEUUID
 * each time, TIMESTAMP in date(1)'s C-locale form). Written through ImageRoot, so an image
 * whose /opt is an absolute symlink never makes us write on the management node itself.
 * Returns the new IMAGEUUID.
 */
export function writeXcatinfo(tree: string, imageName: string, now = new Date()): string {
  const uuid = randomUUID();
  const dir = new ImageRoot(tree).follow("/opt/xcat");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  writeFileAtomic(join(dir, "xcatinfo"), `IMAGENAME='${imageName}'\nIMAGEUUID='${uuid}'\nTIMESTAMP='${cDate(now)}'\n`, 0o644);
  return uuid;
}

/** date(1) in the C locale and UTC, as xCAT stores TIMESTAMP: "Sat Nov 22 04:39:15 UTC 2026". */
export function cDate(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}
