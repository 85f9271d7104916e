import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { copyAtomic, sameFile, writeFileIfChanged } from "../fs/atomic";
import { BYMAC_SCRIPTS, bymacScript, LOADER_NAMES } from "./boot-rules";
import type { DhcpSettings } from "./settings";

/**
 * The first-stage loaders DHCP names, copied into tftpdir from the management node's own
 * packages under stable names (xCAT ships its own xnba builds under the same names). A
 * missing package is named, not fatal: the configuration is still valid, but clients of that
 * architecture get a file that is not there until it is installed.
 */
interface LoaderSource {
  name: string;
  candidates: string[];
  package: string;
  /** Only needed when the site chose this loader. */
  when?: (s: DhcpSettings) => boolean;
}

export const LOADER_SOURCES: LoaderSource[] = [
  { name: LOADER_NAMES.ipxeBios, candidates: ["/usr/lib/ipxe/undionly.kpxe", "/usr/share/ipxe/undionly.kpxe"], package: "ipxe" },
  { name: LOADER_NAMES.ipxeEfi, candidates: ["/usr/lib/ipxe/ipxe.efi", "/usr/share/ipxe/ipxe-x86_64.efi"], package: "ipxe" },
  {
    name: LOADER_NAMES.pxelinux,
    candidates: ["/usr/lib/PXELINUX/pxelinux.0", "/usr/share/syslinux/pxelinux.0"],
    package: "pxelinux",
    when: (s) => s.biosLoader === "pxe",
  },
  {
    name: "ldlinux.c32",
    candidates: ["/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/share/syslinux/ldlinux.c32"],
    package: "syslinux-common",
    when: (s) => s.biosLoader === "pxe",
  },
];

export interface LoadersResult {
  published: string[];
  /** name → what to install. */
  missing: Record<string, string>;
}

export function publishLoaders(s: DhcpSettings): LoadersResult {
  const out: LoadersResult = { published: [], missing: {} };
  for (const l of LOADER_SOURCES) {
    if (l.when && !l.when(s)) continue;
    const src = l.candidates.find((c) => existsSync(c));
    const dst = join(s.tftpdir, l.name);
    if (!src) {
      out.missing[l.name] = `apt-get install ${l.package}`;
      continue;
    }
    mkdirSync(dirname(dst), { recursive: true, mode: 0o755 });
    if (!existsSync(dst) || !sameFile(src, dst)) copyAtomic(src, dst);
    out.published.push(dst);
  }
  // GRUB's network image is built per site by grub-mknetdir (its modules live next to it)
  if (s.uefiLoader === "grub2" && !existsSync(join(s.tftpdir, LOADER_NAMES.grubEfi))) {
    out.missing[LOADER_NAMES.grubEfi] = `grub-mknetdir --net-directory=${s.tftpdir} --subdir=boot/grub2 (package grub-efi-amd64-bin)`;
  }
  for (const [kind, rel] of Object.entries(BYMAC_SCRIPTS)) {
    const f = join(s.tftpdir, rel);
    mkdirSync(dirname(f), { recursive: true, mode: 0o755 });
    writeFileIfChanged(f, bymacScript(s, kind === "uefi"));
    out.published.push(f);
  }
  return out;
}
