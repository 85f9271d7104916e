import { type MemoryEntry, memoryCpio } from "../../core/archive/cpio";
import type { ImageFacts } from "../../core/boot/image-facts";
import { type OverlayInput, overlayEntries } from "../../core/boot/overlay";
import { CLONE_SCRIPT, CLONE_SERVICE, CLONE_TARGET } from "./node-script";

/**
 * A node's overlay for the clone environment: what `xcimg boot` gives a diskless node (hostname,
 * network configuration for the image's network stack, the node's SSH host key, root's
 * authorized_keys, node.env), plus the clone job — the plan, the script, the systemd target
 * and service that run it — and an empty /etc/fstab and /etc/crypttab, so the image's own
 * entries for the golden node's disks do not hold the boot up. The identity files are also
 * what the script installs on the disk (identityFiles).
 */
const NOT_FOR_DISK = new Set(["root/.ssh/authorized_keys", "etc/xcimg/ifupdown"]);

/** Identity files (paths without the leading /) the script installs on the disk too. */
export function identityFilesOf(input: OverlayInput): string[] {
  return overlayEntries(input)
    .filter((e) => (e.mode & 0o170000) !== 0o040000 && !NOT_FOR_DISK.has(e.name))
    .map((e) => e.name);
}

/** files: more of the plan (postscripts.ts cloneScriptFiles), their directories made as needed. */
export function envOverlay(input: OverlayInput, planEnv: string, mtime: number, files: MemoryEntry[] = []): Buffer {
  const base = overlayEntries(input);
  const have = new Set(base.map((e) => e.name));
  const extra: MemoryEntry[] = [];
  const dir = (name: string, facts: ImageFacts) => {
    if (have.has(name)) return;
    have.add(name);
    const own = facts.dirs.get(name);
    extra.push({ name, mode: 0o040000 | (own?.mode ?? 0o755), uid: own?.uid ?? 0, gid: own?.gid ?? 0 });
  };
  for (const d of ["etc", "etc/xcimg", "etc/xcimg/clone", "etc/systemd", "etc/systemd/system"]) dir(d, input.facts);
  extra.push(
    { name: "etc/fstab", mode: 0o100644, data: "# xcimg clone environment: the disk is not mounted from here\n" },
    { name: "etc/crypttab", mode: 0o100600, data: "" },
    { name: "etc/xcimg/clone/plan.env", mode: 0o100644, data: planEnv },
    { name: "etc/xcimg/clone/clone.sh", mode: 0o100755, data: CLONE_SCRIPT },
    { name: "etc/systemd/system/xcimg-clone.target", mode: 0o100644, data: CLONE_TARGET },
    { name: "etc/systemd/system/xcimg-clone.service", mode: 0o100644, data: CLONE_SERVICE },
  );
  for (const f of files) {
    const parts = f.name.split("/").slice(0, -1);
    for (let n = 1; n <= parts.length; n++) dir(parts.slice(0, n).join("/"), input.facts);
    extra.push(f);
  }
  // directories first, in path order, as the kernel needs them before their files
  const entries = [...base, ...extra];
  const dirs = entries.filter((e) => (e.mode & 0o170000) === 0o040000).sort((a, b) => (a.name < b.name ? -1 : 1));
  const rest = entries.filter((e) => (e.mode & 0o170000) !== 0o040000);
  return memoryCpio([...dirs, ...rest], mtime);
}
