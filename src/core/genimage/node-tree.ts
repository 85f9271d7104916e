import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generalizeIdentity } from "../capture/identity";
import { exists, isDirNotLink } from "../fs/predicates";

/**
 * A built tree is a node's root, not a copy of this MN: what the package managers and
 * bootstrap tools copied from the MN, and what every node must have its own of, goes.
 *   - SSH host keys, machine-id, random seed, DHCP leases: capture/identity.ts (the same rules
 *     as a captured golden node); machine-id stays as an empty file, as distributions ship it
 *   - /etc/resolv.conf and /etc/hostname (mmdebstrap copies the MN's in): removed; the boot
 *     overlay writes the node's hostname, DHCP its resolver
 *   - apt credentials (auth.conf, auth.conf.d/*), and the sources rewritten without
 *     user:password@ and without the MN's keyring paths
 *   - /etc/fstab: the stateless one xCAT's genimage writes (the root is a tmpfs from the initrd)
 */
const STATELESS_FSTAB = `# xcimg genimage: diskless node, / is a tmpfs filled from the image by the initrd
proc    /proc    proc     defaults       0 0
sysfs   /sys     sysfs    defaults       0 0
devpts  /dev/pts devpts   gid=5,mode=620 0 0
tmpfs   /dev/shm tmpfs    defaults       0 0
`;

export async function finalizeCommon(tree: string): Promise<string[]> {
  const changed = await generalizeIdentity(tree);
  for (const f of ["etc/resolv.conf", "etc/hostname"]) {
    if (exists(join(tree, f))) {
      rmSync(join(tree, f), { force: true });
      changed.push(`/${f}`);
    }
  }
  if (isDirNotLink(join(tree, "etc"))) {
    writeFileSync(join(tree, "etc/fstab"), STATELESS_FSTAB, { mode: 0o644 });
    changed.push("/etc/fstab (stateless)");
    const mid = join(tree, "etc/machine-id");
    if (!exists(mid)) writeFileSync(mid, "", { mode: 0o444 });
  }
  return changed;
}

export async function finalizeDebianTree(tree: string, sourceLines: string[]): Promise<string[]> {
  const changed = await finalizeCommon(tree);
  const apt = join(tree, "etc/apt");
  if (!isDirNotLink(apt)) return changed;
  rmSync(join(apt, "auth.conf"), { force: true });
  if (isDirNotLink(join(apt, "auth.conf.d"))) {
    for (const f of readdirSync(join(apt, "auth.conf.d"))) {
      rmSync(join(apt, "auth.conf.d", f), { force: true });
      changed.push(`/etc/apt/auth.conf.d/${f}`);
    }
  }
  writeFileSync(join(apt, "sources.list"), `${sourceLines.join("\n")}\n`, { mode: 0o644 });
  return changed;
}
