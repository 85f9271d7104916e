import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./sandbox";

/** Debian's signed shim and netboot GRUB, extracted by scripts/fixtures.sh. */
export const SECUREBOOT_DIR = join(ROOT, ".cache/secureboot");

/** docs/boot.md "Secure Boot": the MAC as xcimg names the file (grub.cfg-01-aa-bb-...). */
const SITE_GRUB_CFG = `regexp --set=1:m1 --set=2:m2 --set=3:m3 --set=4:m4 --set=5:m5 --set=6:m6 '^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$' "$net_default_mac"
configfile ($root)/boot/grub2/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6
`;

/**
 * The site's signed network chain in a tftpdir, as docs/boot.md "Secure Boot" sets it up by
 * hand: shimx64.efi (the DHCP boot file), grubx64.efi beside it (shim loads it from its own
 * directory), and the one-time grub/grub.cfg that sends Debian's signed netboot GRUB, which
 * reads only (tftp)/grub/grub.cfg, on to xcimg's per-node file.
 */
export function installSignedNetChain(tftpdir: string): void {
  if (!existsSync(join(SECUREBOOT_DIR, "grubx64.efi"))) throw new Error("no signed shim/GRUB: run scripts/fixtures.sh (scripts/test.sh does)");
  copyFileSync(join(SECUREBOOT_DIR, "shimx64.efi"), join(tftpdir, "shimx64.efi"));
  copyFileSync(join(SECUREBOOT_DIR, "grubx64.efi"), join(tftpdir, "grubx64.efi"));
  mkdirSync(join(tftpdir, "grub"), { recursive: true });
  writeFileSync(join(tftpdir, "grub/grub.cfg"), SITE_GRUB_CFG);
}
