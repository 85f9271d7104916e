import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Media trees with the identity files and installer kernel/initrd paths real media has (the
 * kernel and initrd are small placeholders: these tests check placement and names; the qemu
 * test boots a real debian-installer).
 */
function put(root: string, rel: string, text: string): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
}

export function fakeRhelMedia(dir: string, opts: { name?: string; version?: string; arch?: string } = {}): string {
  const name = opts.name ?? "Red Hat Enterprise Linux";
  const version = opts.version ?? "9.4";
  const arch = opts.arch ?? "x86_64";
  put(
    dir,
    ".treeinfo",
    `[general]\nfamily = ${name}\nversion = ${version}\narch = ${arch}\n\n[release]\nname = ${name}\nshort = X\nversion = ${version}\n\n[tree]\narch = ${arch}\n`,
  );
  put(dir, ".discinfo", `1714000000.000000\n${name} ${version}\n${arch}\n`);
  put(dir, "images/pxeboot/vmlinuz", "EL kernel\n");
  put(dir, "images/pxeboot/initrd.img", "EL initrd\n");
  return dir;
}

export function fakeSlesMedia(dir: string): string {
  put(dir, "1/media.1/media", "SUSE - SLE-15-SP5-Full-x86_64-GM-Media1\n20230615\n");
  put(dir, "1/boot/x86_64/loader/linux", "SLES kernel\n");
  put(dir, "1/boot/x86_64/loader/initrd", "SLES initrd\n");
  for (const repo of ["Module-Basesystem", "Module-Server-Applications", "Module-SAP-Applications", "Product-SLES", "Product-SLES_SAP"])
    put(dir, `1/${repo}/repodata/repomd.xml`, "<repomd/>\n");
  return dir;
}

export function fakeDebianMedia(dir: string, opts: { kernel?: string; initrd?: string } = {}): string {
  put(dir, ".disk/info", 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 DVD Binary-1 20240210-11:28');
  put(
    dir,
    "dists/bookworm/Release",
    "Origin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.5\nCodename: bookworm\nArchitectures: amd64\nComponents: main\n",
  );
  if (opts.kernel !== undefined) put(dir, "install/netboot/debian-installer/amd64/linux", opts.kernel);
  if (opts.initrd !== undefined) put(dir, "install/netboot/debian-installer/amd64/initrd.gz", opts.initrd);
  return dir;
}
