import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IOFailure } from "../errors";
import { runTool } from "../proc/run-tool";

/**
 * A diskless node has none of the golden node's disks, but a captured /etc/fstab still names
 * them (UUID=, LABEL=, /dev/vda4 for /, /boot/efi, swap). systemd then waits 90 s for each and
 * drops into emergency mode; xCAT avoids it because genimage writes a stateless fstab over the
 * captured one. For -t diskless xcimg comments those lines out, saying why, and keeps every
 * other line (proc, tmpfs, NFS, bind mounts). Sysclone images keep their fstab: clone rewrites
 * it for the new disks.
 *
 * The tree's files may be hardlinks shared with the previous image, so the new fstab is a new
 * file (owner, mode, xattrs copied from the old one), renamed into place.
 */
const LOCAL_SPEC = /^(UUID|LABEL|PARTUUID|PARTLABEL|ID)=|^\/dev\/(?!shm$|pts$|mqueue$|hugepages$)/;
const NOT_A_DISK = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "tmpfs",
  "proc",
  "sysfs",
  "devpts",
  "devtmpfs",
  "none",
  "bind",
  "overlay",
  "fuse",
  "9p",
  "virtiofs",
]);
export const MARK = "#xcimg-diskless# ";

/** Lines changed, or 0. */
export function disableLocalDiskLines(text: string): { text: string; count: number } {
  let count = 0;
  const out = text.split("\n").map((line) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return line;
    const [spec = "", , fstype = "", options = ""] = t.split(/\s+/);
    if (!LOCAL_SPEC.test(spec) || NOT_A_DISK.has(fstype) || options.split(",").includes("bind")) return line;
    count++;
    return `${MARK}${line}`;
  });
  if (count === 0) return { text, count };
  const note =
    "# xcimg: lines marked #xcimg-diskless# mount disks of the golden node this image was captured from;\n# diskless nodes do not have them (remove the mark to mount a local disk, with nofail).\n";
  return { text: note + out.join("\n"), count };
}

export async function generalizeFstab(root: string): Promise<string[]> {
  const fstab = join(root, "etc/fstab");
  try {
    if (!lstatSync(join(root, "etc")).isDirectory() || !lstatSync(fstab).isFile()) return [];
  } catch {
    return [];
  }
  const { text, count } = disableLocalDiskLines(readFileSync(fstab, "latin1"));
  if (count === 0) return [];
  const tmp = join(root, "etc/.fstab.xcimg");
  try {
    const r = await runTool(["cp", "-a", "--attributes-only", "--", fstab, tmp]);
    if (r.code !== 0) throw new Error(r.stderr.trim());
    writeFileSync(tmp, text, "latin1");
    renameSync(tmp, fstab);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new IOFailure(`cannot rewrite /etc/fstab in the captured tree: ${(e as Error).message}`, { cause: e });
  }
  return [`/etc/fstab (${count} local-disk ${count === 1 ? "entry" : "entries"} commented out)`];
}
