import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { statIn } from "../../core/boot/image-facts";
import { DataError } from "../../core/errors";
import type { SourceLayout } from "./layout";

/**
 * What the image itself brings for cloning: the node partitions, formats, unpacks and installs
 * its bootloader with the image's own programs (SystemImager and Confluent do the same), so the
 * management node looks into the image tree — /sbin links to /usr/sbin resolved inside it — for
 * the tools the layout needs and how this distribution names them (grub-install vs
 * grub2-install, /boot/grub vs /boot/grub2, update-initramfs vs dracut, a signed shim). A
 * missing tool is reported before any node is touched, with the package to install.
 */
export interface ImageTools {
  grubInstall: string;
  grubMkconfig: string;
  /** GRUB's BIOS modules (usr/lib/grub/i386-pc) are in the image. */
  grubPc: boolean;
  /** GRUB's UEFI modules (usr/lib/grub/x86_64-efi), so grub-install can build a UEFI loader. */
  grubEfi: boolean;
  /** A signed shim in the image's ESP (EL, SUSE): registered with efibootmgr instead. */
  shim: string | null;
  /**
   * How the image makes a disk that boots with Secure Boot enforced: "grub-install" when it has
   * Debian's and Ubuntu's shim-signed and grub-efi-amd64-signed, which their grub-install puts
   * on the ESP (shim as BOOTX64.EFI, the signed GRUB beside it); "shim" when only its ESP's
   * signed shim and GRUB (EL, SUSE) can: their grub2-install would build an unsigned GRUB, so
   * the shim is registered instead even when GRUB's modules are there; null when it cannot.
   */
  secureBoot: "grub-install" | "shim" | null;
  efiId: string;
  efiLabel: string;
  /** The command that rebuilds the initramfs, when the image has one. */
  initrdCmd: string | null;
  decompress: "zstd" | "gzip";
  /** mkfs programs (and LVM tools) the layout needs. */
  mkfsTools: string[];
  fetchers: string[];
}

const BIN_DIRS = ["usr/sbin", "usr/bin", "sbin", "bin"];

function findTool(tree: string, name: string): boolean {
  return BIN_DIRS.some((d) => statIn(tree, `${d}/${name}`)?.isFile());
}

function isDir(tree: string, rel: string): boolean {
  return statIn(tree, rel)?.isDirectory() ?? false;
}

function osRelease(tree: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ["etc/os-release", "usr/lib/os-release"]) {
    try {
      for (const line of readFileSync(join(tree, f), "utf8").split("\n")) {
        const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
        if (m) out[m[1] as string] = m[3] as string;
      }
      return out;
    } catch {
      // try the next
    }
  }
  return out;
}

export function inspectTools(tree: string, layout: SourceLayout): ImageTools {
  const missing: string[] = [];
  const need = (name: string, pkg: string) => {
    if (!findTool(tree, name)) missing.push(`${name} (${pkg})`);
    return name;
  };
  const grub2 = findTool(tree, "grub2-install") || findTool(tree, "grub2-mkconfig");
  const prefix = grub2 ? "grub2" : "grub";
  const grubPc = isDir(tree, "usr/lib/grub/i386-pc");
  const grubEfi = isDir(tree, "usr/lib/grub/x86_64-efi");
  const os = osRelease(tree);
  const efiDirs = safeList(join(tree, "boot/efi/EFI")).filter((d) => d.toUpperCase() !== "BOOT");
  const efiId = efiDirs.find((d) => d.toLowerCase() === (os.ID ?? "").toLowerCase()) ?? efiDirs[0] ?? (os.ID || "linux");
  const shimFile = ["shimx64.efi", "shim.efi"].find((f) => statIn(tree, `boot/efi/EFI/${efiId}/${f}`)?.isFile());
  const shim = shimFile ? `\\EFI\\${efiId}\\${shimFile}` : null;
  const signedDebian = Boolean(
    statIn(tree, "usr/lib/shim/shimx64.efi.signed")?.isFile() && statIn(tree, "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")?.isFile(),
  );
  const cfgDir = grub2 ? "/boot/grub2" : "/boot/grub";
  // EL8 on UEFI keeps the real grub.cfg in the ESP; EL9 keeps a stub there that loads /boot/grub2/grub.cfg
  let cfg = `${cfgDir}/grub.cfg`;
  if (shim && !grubEfi) {
    const esp = readQuiet(join(tree, `boot/efi/EFI/${efiId}/grub.cfg`));
    if (esp && !/configfile/.test(esp)) cfg = `/boot/efi/EFI/${efiId}/grub.cfg`;
  }

  const grubInstall = `${prefix}-install`;
  if (grubPc || grubEfi) need(grubInstall, grub2 ? "grub2-tools" : "grub2-common");
  need(`${prefix}-mkconfig`, grub2 ? "grub2-tools" : "grub2-common");
  if (!grubPc && !grubEfi && !shim)
    missing.push(`GRUB's modules for BIOS or UEFI (${grub2 ? "grub2-pc-modules or grub2-efi-x64" : "grub-pc-bin or grub-efi-amd64-bin"})`);
  need("sfdisk", "fdisk or util-linux");
  need("tar", "tar");
  need("blkid", "util-linux");
  const mkfsTools = new Set<string>();
  for (const fs of layout.filesystems) {
    if (fs.fstype === "vfat") {
      mkfsTools.add(need("mkfs.vfat", "dosfstools"));
    } else if (fs.fstype === "xfs") mkfsTools.add(need("mkfs.xfs", "xfsprogs"));
    else mkfsTools.add(need(`mkfs.${fs.fstype}`, "e2fsprogs"));
  }
  if (layout.swaps.length) mkfsTools.add(need("mkswap", "util-linux"));
  if (layout.vgs.length) for (const t of ["pvcreate", "vgcreate", "lvcreate", "vgchange"]) mkfsTools.add(need(t, "lvm2"));
  const fetchers = ["curl", "wget", "python3", "bash"].filter((f) => findTool(tree, f));
  if (fetchers.length === 0) missing.push("an HTTP client: curl, wget, python3 or bash");
  const decompress = findTool(tree, "zstd") ? "zstd" : findTool(tree, "gzip") ? "gzip" : null;
  if (!decompress) missing.push("gzip or zstd");
  if (!statIn(tree, "lib/systemd/systemd") && !statIn(tree, "usr/lib/systemd/systemd"))
    missing.push("systemd (the clone environment is the image booted with systemd)");
  if (missing.length) {
    throw new DataError(`the image cannot clone itself onto a disk: it lacks ${missing.join(", ")}`, {
      hint: "install these on the golden node and capture it again with -t sysclone (clone uses the image's own tools)",
    });
  }
  const initrdCmd = findTool(tree, "update-initramfs") ? "update-initramfs -u -k all" : findTool(tree, "dracut") ? "dracut -f --regenerate-all" : null;
  return {
    grubInstall,
    grubMkconfig: `${prefix}-mkconfig -o ${cfg}`,
    grubPc,
    grubEfi,
    shim,
    secureBoot: signedDebian ? "grub-install" : shim ? "shim" : null,
    efiId,
    efiLabel: os.NAME || efiId,
    initrdCmd,
    decompress: decompress as "zstd" | "gzip",
    mkfsTools: [...mkfsTools],
    fetchers,
  };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function readQuiet(f: string): string | null {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return null;
  }
}
