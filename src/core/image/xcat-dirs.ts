import { join } from "node:path";

/**
 * xCAT's directory names that are spelt like provmethods but name kinds of image, not
 * methods: diskless trees live in <installdir>/netboot/<osvers>/<arch>/<profile>, and the
 * site's and xCAT's own files (templates, pkglists, synclists, exlists) in
 * <installdir>/custom/<kind>/<platform>/ and <xcatroot>/share/xcat/<kind>/<platform>/, with
 * kind netboot for diskless images and install for diskful ones (xCAT's Template.pm,
 * imgcapture, genimage, syncfile_synclist_file.rst). Which kind an image is comes from its
 * method's facts (MethodFacts.image.customDir).
 */
export const XCAT_DIR = { diskless: "netboot", diskful: "install" } as const;
export type ImageKind = keyof typeof XCAT_DIR;

/** <installdir>/custom/<netboot|install>/<platform> */
export function customDir(installdir: string, kind: ImageKind, platform: string): string {
  return join(installdir, "custom", XCAT_DIR[kind], platform);
}

/** <xcatroot>/share/xcat/<netboot|install>/<platform>: the files xCAT itself ships. */
export function shippedDir(xcatroot: string, kind: ImageKind, platform: string): string {
  return join(xcatroot, "share", "xcat", XCAT_DIR[kind], platform);
}

/** xCAT's default image directory, shared by the images of one os/arch/profile: <installdir>/netboot/<osvers>/<arch>/<last>. */
export function disklessDir(installdir: string, osvers: string, osarch: string, last: string): string {
  return join(installdir, XCAT_DIR.diskless, osvers, osarch, last);
}
