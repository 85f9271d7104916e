import { dirname, join, relative } from "node:path";
import type { Config } from "../config/schema";
import { isInside } from "../image/paths";
import { safeNodeFileName } from "../names";

/** Where the per-node boot files live under tftpdir (xCAT's layout, plus xcimg's overlays). */
export const bootPaths = (tftpdir: string) => ({
  xnbaDir: join(tftpdir, "xcat", "xnba", "nodes"),
  grub2Dir: join(tftpdir, "boot", "grub2"),
  pxelinuxDir: join(tftpdir, "pxelinux.cfg"),
  overlayDir: join(tftpdir, "xcat", "overlay"),
});

/** The node's identity overlay, relative to the TFTP root. */
export const overlayRel = (node: string) => `xcat/overlay/${safeNodeFileName(node)}.cpio`;

/** Private per-node state (SSH host keys): next to the database, never under a web-served tree. */
export function stateDir(config: Config): string {
  return dirname(config["db.path"]);
}

/**
 * The URL path under which the management node's web server serves a file. xCAT's httpd
 * configuration aliases /install to installdir and /tftpboot to tftpdir, and xCAT's boot
 * files use those paths; docs/boot.md gives the same few lines for nginx and httpd.
 */
export function urlPath(config: Config, file: string): string {
  if (isInside(file, config.tftpdir)) return `/tftpboot/${relative(config.tftpdir, file)}`;
  if (isInside(file, config.installdir)) return `/install/${relative(config.installdir, file)}`;
  return file;
}
