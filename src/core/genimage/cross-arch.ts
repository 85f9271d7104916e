import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalArch } from "../arch";
import { ConfigError } from "../errors";

/**
 * A tree for another architecture than the MN's: mmdebstrap, dnf and zypper install its
 * packages from here, but the packages' maintainer scripts (and dracut, depmod...) run the
 * tree's own binaries, which this kernel can execute only through a binfmt_misc handler
 * (qemu-user-static registers qemu-<arch> there). Without one the build would fail half-way,
 * after minutes of downloads, with "Exec format error" from some scriptlet; so it is refused
 * before anything is touched, naming the Debian packages that register one.
 */
const NODE_ARCH: Record<string, string> = { x64: "x86_64", arm64: "aarch64", ppc64: "ppc64le", s390x: "s390x" };
/** xCAT arch → the name qemu registers its binfmt handler under (qemu-<name>). */
const QEMU_NAME: Record<string, string> = { x86_64: "x86_64", aarch64: "aarch64", ppc64le: "ppc64le", ppc64: "ppc64", s390x: "s390x" };

export function hostArch(): string {
  return NODE_ARCH[process.arch] ?? process.arch;
}

/** Is an enabled binfmt_misc handler registered for `arch` (an entry qemu-<arch>*, "enabled")? */
export function binfmtHandler(arch: string, dir = "/proc/sys/fs/binfmt_misc"): string | null {
  let names: string[];
  try {
    if (!readFileSync(join(dir, "status"), "utf8").startsWith("enabled")) return null;
    names = readdirSync(dir);
  } catch {
    return null; // binfmt_misc not mounted: no handler at all
  }
  const q = QEMU_NAME[arch] ?? arch;
  for (const n of names.filter((n) => n === `qemu-${q}` || n.startsWith(`qemu-${q}-`)).sort()) {
    try {
      if (readFileSync(join(dir, n), "utf8").split("\n")[0] === "enabled") return join(dir, n);
    } catch {
      // a handler removed meanwhile
    }
  }
  return null;
}

/** Throws, before any lock or tree, when the MN cannot run the image's binaries. */
export function checkCrossArch(arch: string, host = hostArch(), dir?: string): void {
  const want = canonicalArch(arch) ?? arch;
  if (want === host) return;
  if (binfmtHandler(want, dir)) return;
  throw new ConfigError(
    `building a ${want} image on this ${host} machine needs a binfmt_misc handler for ${want}, and none is registered (${dir ?? "/proc/sys/fs/binfmt_misc"}): the packages' scripts in the tree could not run`,
    {
      hint: `install qemu-user-static and binfmt-support on this machine (apt-get install qemu-user-static binfmt-support), check that /proc/sys/fs/binfmt_misc/qemu-${QEMU_NAME[want] ?? want} says enabled, then rerun; or build on a ${want} machine`,
    },
  );
}
