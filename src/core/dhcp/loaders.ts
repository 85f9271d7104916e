import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Context } from "../context";
import { XcimgError } from "../errors";
import { copyAtomic, sameFile, writeFileIfChanged } from "../fs/atomic";
import { BYMAC_SCRIPTS, bymacScript, GRUB_REDIRECTS, LOADER_NAMES } from "./boot-rules";
import { type DhcpSettings, loaderSettings } from "./settings";

/**
 * The first-stage loaders DHCP names, copied into tftpdir from the management node's own
 * packages under stable names (xCAT ships its own iPXE builds as xcat/xnba.kpxe and
 * xcat/xnba.efi; xcimg publishes Debian's or RHEL's iPXE under the same names, so a site's
 * own DHCP rules written for xCAT keep working). A missing package is named, not fatal: the
 * configuration is still valid, but clients of that firmware get a file that is not there
 * until it is installed.
 */
export type LoaderSettings = Pick<DhcpSettings, "tftpdir" | "biosLoader" | "uefiLoader">;

interface LoaderSource {
  name: string;
  /** Debian's path first, then RHEL's (and its rebuilds', whose EFI directory is their own name). */
  candidates: string[];
  /** What to install: Debian's package, then RHEL's. */
  install: string;
  /** Only needed when the site chose this loader. */
  when?: (s: LoaderSettings) => boolean;
  /** arm64 clients only: an x86-64 management node usually has no arm64 loader, which is not worth a warning on every boot. */
  arm64?: boolean;
}

const EL_EFI = ["redhat", "rocky", "almalinux", "centos"];
const elEfi = (file: string) => EL_EFI.map((d) => `/boot/efi/EFI/${d}/${file}`);
const grub2 = (s: LoaderSettings) => s.uefiLoader === "grub2";
const pxe = (s: LoaderSettings) => s.biosLoader === "pxe";

export const LOADER_SOURCES: LoaderSource[] = [
  // iPXE is always published: the UEFI HTTP-boot rule names xcat/xnba.efi whatever dhcpuefiloader says
  {
    name: LOADER_NAMES.ipxeBios,
    candidates: ["/usr/lib/ipxe/undionly.kpxe", "/usr/share/ipxe/undionly.kpxe"],
    install: "apt-get install ipxe (RHEL: dnf install ipxe-bootimgs-x86)",
  },
  {
    name: LOADER_NAMES.ipxeEfi,
    candidates: ["/usr/lib/ipxe/ipxe.efi", "/usr/share/ipxe/ipxe-x86_64.efi"],
    install: "apt-get install ipxe (RHEL: dnf install ipxe-bootimgs-x86)",
  },
  {
    name: LOADER_NAMES.pxelinux,
    candidates: ["/usr/lib/PXELINUX/pxelinux.0", "/usr/share/syslinux/pxelinux.0"],
    install: "apt-get install pxelinux (RHEL: dnf install syslinux-nonlinux)",
    when: pxe,
  },
  {
    name: "ldlinux.c32",
    candidates: ["/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/share/syslinux/ldlinux.c32"],
    install: "apt-get install syslinux-common (RHEL: dnf install syslinux-nonlinux)",
    when: pxe,
  },
  // The Secure Boot chain (docs/boot.md "Secure Boot"): shim, signed by Microsoft's UEFI CA,
  // loads grubx64.efi from its own directory and checks it against the distribution's key.
  // Debian's is the netboot build (grubnetx64: its prefix is (tftp)/grub).
  {
    name: LOADER_NAMES.shimX64,
    candidates: ["/usr/lib/shim/shimx64.efi.signed", ...elEfi("shimx64.efi")],
    install: "apt-get install shim-signed (RHEL: dnf install shim-x64)",
    when: grub2,
  },
  {
    name: LOADER_NAMES.grubX64,
    candidates: ["/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", ...elEfi("grubx64.efi")],
    install: "apt-get install grub-efi-amd64-signed (RHEL: dnf install grub2-efi-x64)",
    when: grub2,
  },
  // Debian's iPXE (bookworm) has no arm64 build: arm64 UEFI gets the signed netboot GRUB
  {
    name: LOADER_NAMES.grubArm64,
    candidates: ["/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed", ...elEfi("grubaa64.efi")],
    install: "apt-get install grub-efi-arm64-signed (an arm64 package: dpkg --add-architecture arm64 first on x86-64; RHEL: dnf install grub2-efi-aa64)",
    arm64: true,
  },
];

/** Every name under tftpdir xcimg may publish a loader as: the site's files, not any image's or node's. */
export const LOADER_FILES: readonly string[] = [...LOADER_SOURCES.map((l) => l.name), ...GRUB_REDIRECTS];

export interface LoadersResult {
  /** Every loader in place (copied now or already the same). */
  published: string[];
  /** The ones copied by this run: changed or new. */
  copied: string[];
  /** name → what to install. */
  missing: Record<string, string>;
  /** The same, for arm64 clients only. */
  missingArm64: Record<string, string>;
  /** Files xcimg would write that the site wrote itself: left alone. */
  kept: string[];
}

/** Marks a file xcimg wrote, so it rewrites its own and never a site's hand-written one. */
const WRITTEN_BY = "# written by xcimg";

/**
 * GRUB's site file: Debian's signed netboot GRUB reads only <prefix>/grub.cfg ((tftp)/grub),
 * RHEL's the grub.cfg beside itself; neither searches grub.cfg-01-<mac>, so this file sends
 * both on to the per-node file `xcimg boot` writes (core/boot/loader-files.ts).
 */
export const GRUB_REDIRECT = `${WRITTEN_BY}: send GRUB on to the node's own file, boot/grub2/grub.cfg-01-<mac>
regexp --set=1:m1 --set=2:m2 --set=3:m3 --set=4:m4 --set=5:m5 --set=6:m6 '^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$' "$net_default_mac"
configfile ($root)/boot/grub2/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6
`;

/**
 * Copy every loader the site's rules name from the MN's packages; a loader already the same
 * (size and mtime, which copyAtomic keeps) is not touched, a changed one is renamed into place
 * so a node booting meanwhile reads the old file or the new one.
 */
export function publishLoaders(s: LoaderSettings): LoadersResult {
  const out: LoadersResult = { published: [], copied: [], missing: {}, missingArm64: {}, kept: [] };
  for (const l of LOADER_SOURCES) {
    if (l.when && !l.when(s)) continue;
    const src = l.candidates.find((c) => existsSync(c));
    const dst = join(s.tftpdir, l.name);
    if (!src) {
      (l.arm64 ? out.missingArm64 : out.missing)[l.name] = l.install;
      continue;
    }
    mkdirSync(dirname(dst), { recursive: true, mode: 0o755 });
    if (!sameFile(src, dst)) {
      copyAtomic(src, dst);
      out.copied.push(dst);
    }
    out.published.push(dst);
  }
  const grubs = LOADER_SOURCES.filter((l) => l.name === LOADER_NAMES.grubArm64 || (l.name === LOADER_NAMES.grubX64 && grub2(s)));
  if (grubs.some((l) => out.published.includes(join(s.tftpdir, l.name)))) {
    for (const rel of GRUB_REDIRECTS) {
      const f = join(s.tftpdir, rel);
      if (existsSync(f) && !readFileSync(f, "utf8").startsWith(WRITTEN_BY)) {
        out.kept.push(f);
        continue;
      }
      mkdirSync(dirname(f), { recursive: true, mode: 0o755 });
      if (writeFileIfChanged(f, GRUB_REDIRECT)) out.copied.push(f);
      out.published.push(f);
    }
  }
  return out;
}

/** `dhcp -n`: the loaders, and the MAC-chain scripts every iPXE client fetches. */
export function publishDhcpLoaders(s: DhcpSettings): LoadersResult {
  const out = publishLoaders(s);
  for (const [kind, rel] of Object.entries(BYMAC_SCRIPTS)) {
    const f = join(s.tftpdir, rel);
    mkdirSync(dirname(f), { recursive: true, mode: 0o755 });
    if (writeFileIfChanged(f, bymacScript(s, kind === "uefi"))) out.copied.push(f);
    out.published.push(f);
  }
  return out;
}

/**
 * `boot` and `clone`, once per run (core/boot/boot.ts): the loaders again, so a site whose
 * DHCP is not xcimg's, or that upgraded its ipxe or shim package since `dhcp -n`, serves the
 * MN's current ones. Never fails the boot: the nodes' own files are what the command is for,
 * and a loader is needed only by firmware the site's DHCP sends to it. One warning per run
 * names what to install; arm64's loader is `dhcp -n`'s to mention.
 */
export function publishBootLoaders(ctx: Context): LoadersResult | null {
  try {
    const r = publishLoaders(loaderSettings(ctx.db(), ctx.config));
    const missing = Object.entries(r.missing);
    if (missing.length)
      ctx.log.warn(
        `first-stage loaders not in ${ctx.config.tftpdir}: ${missing.map(([n, how]) => `${n} (${how})`).join("; ")} — nodes whose DHCP names them cannot start until the package is installed`,
      );
    for (const f of r.kept) ctx.log.warn(`${f} was not written by xcimg: left as it is (docs/boot.md "Secure Boot" has what xcimg would write)`);
    return r;
  } catch (e) {
    if (!(e instanceof XcimgError) && !(e instanceof Error && "code" in e)) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    ctx.log.warn(`first-stage loaders not published: ${msg}`);
    return null;
  }
}
