import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";

/**
 * What `xcimg boot` needs to know about an image's tree to write a node overlay that fits it:
 * which network stack it runs, and the owner/mode of the directories the overlay touches (the
 * kernel applies a cpio directory entry's mode to an existing directory, so the overlay must
 * carry the image's own). Paths are resolved inside the tree: an absolute symlink such as
 * /lib -> /usr/lib points into the image, never at the management node's files.
 */
export interface ImageFacts {
  /** The tree was there to look at; false for images known only by their packed archive. */
  inspected: boolean;
  networkManager: boolean;
  ifupdown: boolean;
  /** Path of systemd-networkd.service inside the image, or null. */
  networkdUnit: string | null;
  dirs: Map<string, { mode: number; uid: number; gid: number }>;
}

export const OVERLAY_DIRS = [
  "etc",
  "etc/ssh",
  "etc/xcimg",
  "etc/systemd",
  "etc/systemd/network",
  "etc/systemd/system",
  "etc/systemd/system/multi-user.target.wants",
  "etc/NetworkManager",
  "etc/NetworkManager/system-connections",
  "root",
  "root/.ssh",
];

export function inspectImage(rootimg: string): ImageFacts {
  const facts: ImageFacts = { inspected: false, networkManager: false, ifupdown: false, networkdUnit: null, dirs: new Map() };
  if (!statIn(rootimg, "")) return facts;
  facts.inspected = true;
  facts.networkManager = ["usr/sbin/NetworkManager", "sbin/NetworkManager"].some((p) => statIn(rootimg, p) !== null);
  facts.ifupdown = ["sbin/ifup", "usr/sbin/ifup", "bin/ifup"].some((p) => statIn(rootimg, p) !== null);
  facts.networkdUnit =
    ["lib/systemd/system/systemd-networkd.service", "usr/lib/systemd/system/systemd-networkd.service"].find((p) => statIn(rootimg, p)) ?? null;
  if (facts.networkdUnit) facts.networkdUnit = `/${facts.networkdUnit}`;
  for (const d of OVERLAY_DIRS) {
    const st = statIn(rootimg, d);
    if (st?.isDirectory()) facts.dirs.set(d, { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }
  return facts;
}

/** stat(2) of `rel` inside `root`, following symlinks as the booted image would. */
export function statIn(root: string, rel: string): Stats | null {
  const parts = rel.split("/").filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  while (parts.length) {
    const part = parts.shift() as string;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const p = join(root, ...resolved, part);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return null;
      const target = readlinkSync(p);
      if (target.startsWith("/")) resolved.length = 0;
      parts.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  try {
    return lstatSync(join(root, ...resolved));
  } catch {
    return null;
  }
}
