import { lstatSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { IOFailure } from "../errors";
import { runTool } from "../proc/run-tool";

/**
 * Generalize a captured tree so every node booted or cloned from it gets its own identity
 * (systemd's "Building Images" guidance; Confluent's capture masks the same files):
 *   - SSH host keys                          removed (regenerated per node, or supplied by boot/clone)
 *   - /etc/machine-id                        emptied, as distributions ship it; systemd makes one at boot
 *   - /var/lib/dbus/machine-id (a file)      removed (normally a symlink to /etc/machine-id)
 *   - /var/lib/systemd/random-seed           removed (nodes must not share a seed)
 *   - 70-persistent-net.rules                removed (it pins the golden node's MAC addresses)
 *   - DHCP leases (dhclient, NetworkManager, dhcpcd, wicked)  removed
 * Runs on the staging tree. Files there may be hardlinks shared with the previous image, so
 * nothing is changed in place: files are unlinked, and machine-id is replaced by an empty copy
 * that keeps its owner, mode, times and xattrs (SELinux label). The directories keep their
 * mtimes. Never follows a symlink out.
 */
const LEASE_DIRS = ["var/lib/dhclient", "var/lib/dhcp", "var/lib/NetworkManager", "var/lib/dhcpcd", "var/lib/dhcpcd5", "var/lib/wicked"];
const LEASE_FILE = /(\.leases?|\.lease\.\w+)$|^lease-.*\.xml$/;

/** `rel` inside `root` is reachable through real directories only (no symlink on the way). */
function safeDir(root: string, rel: string): boolean {
  let p = root;
  for (const part of rel.split("/")) {
    p = join(p, part);
    try {
      if (!lstatSync(p).isDirectory()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function fileStat(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Directories we are about to change → their mtime (ns), to put back at the end. */
type DirTimes = Map<string, bigint>;

function remember(times: DirTimes, dir: string): void {
  if (!times.has(dir)) times.set(dir, lstatSync(dir, { bigint: true }).mtimeNs);
}

/** Put the mtimes back with ns precision (utimes() in JS only has microseconds). */
async function restoreTimes(times: DirTimes): Promise<void> {
  for (const [dir, ns] of times) {
    const stamp = `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
    const r = await runTool(["touch", "-m", "-h", "-d", stamp, "--", dir]);
    if (r.code !== 0) throw new IOFailure(`cannot restore the time of ${dir}: ${r.stderr.trim()}`);
  }
}

function remove(root: string, rel: string, out: string[], times: DirTimes): void {
  const st = fileStat(join(root, rel));
  if (!st || st.isDirectory()) return;
  try {
    remember(times, dirname(join(root, rel)));
    unlinkSync(join(root, rel));
  } catch (e) {
    throw new IOFailure(`cannot remove /${rel} from the captured tree: ${(e as Error).message}`, { cause: e });
  }
  out.push(`/${rel}`);
}

export async function generalizeIdentity(root: string): Promise<string[]> {
  const removed: string[] = [];
  const times: DirTimes = new Map();
  if (safeDir(root, "etc/ssh")) {
    for (const n of readdirSync(join(root, "etc/ssh")).sort()) {
      if (/^ssh_host_.*key(\.pub|-cert\.pub)?$/.test(n)) remove(root, `etc/ssh/${n}`, removed, times);
    }
  }
  if (safeDir(root, "etc")) {
    const mid = fileStat(join(root, "etc/machine-id"));
    if (mid?.isFile() && mid.size > 0) {
      const tmp = join(root, "etc/.machine-id.xcimg");
      remember(times, join(root, "etc"));
      const r = await runTool(["cp", "-a", "--attributes-only", "--", join(root, "etc/machine-id"), tmp]);
      if (r.code !== 0) throw new IOFailure(`cannot empty /etc/machine-id in the captured tree: ${r.stderr.trim()}`);
      renameSync(tmp, join(root, "etc/machine-id"));
      removed.push("/etc/machine-id (emptied)");
    }
  }
  if (safeDir(root, "var/lib/dbus") && fileStat(join(root, "var/lib/dbus/machine-id"))?.isFile()) remove(root, "var/lib/dbus/machine-id", removed, times);
  if (safeDir(root, "var/lib/systemd")) remove(root, "var/lib/systemd/random-seed", removed, times);
  if (safeDir(root, "etc/udev/rules.d")) remove(root, "etc/udev/rules.d/70-persistent-net.rules", removed, times);
  for (const dir of LEASE_DIRS) {
    if (!safeDir(root, dir)) continue;
    for (const n of readdirSync(join(root, dir)).sort()) {
      if (LEASE_FILE.test(n) && fileStat(join(root, dir, n))?.isFile()) remove(root, `${dir}/${n}`, removed, times);
    }
  }
  await restoreTimes(times);
  return removed;
}
