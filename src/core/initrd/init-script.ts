/**
 * /init of initrd-stateless.gz, xcimg's generic netboot initrd. The kernel unpacks, in this
 * order, the image (rootimg.cpio.*), this initrd and the node's overlay into its initramfs and
 * runs /init. The script uses only the image's own /bin/sh and tools (any POSIX shell with
 * `local`: dash, bash, busybox ash), so the management node needs no busybox and the initrd
 * is the same for every image.
 *
 * It moves the unpacked files into a real tmpfs (so `findmnt /` says tmpfs and pivot_root,
 * which container runtimes need, works), finishes the node's network configuration from
 * /etc/xcimg/node.env (written by `xcimg boot` into the overlay), sets the hostname and
 * switch_roots into the image's init. Moving instead of copying keeps the peak memory near
 * one image: GNU tar --remove-files streams file by file; otherwise cp -a moves the tree in
 * second-level pieces.
 *
 * Kernel arguments it reads: init= (default /sbin/init), xcimg.tmpfs=<size> (default: half
 * the RAM, as the kernel sizes tmpfs), xcimg.shell (stop in a shell before switching),
 * xcimg.debug (trace). imgurl= (xCAT's key for the packed image) is only reported: the image
 * is already in memory when this runs. Its start (messages, rescue shell, kernel filesystems,
 * the common kernel arguments) is init-common.sh, shared with statelite's /init.
 */
import { inlineParts } from "../script/inline";
import common from "./init-common.sh" with { type: "text" };
import script from "./xcimg-init.sh" with { type: "text" };

/** What every xcimg /init starts with (init-common.sh), for the scripts that source it. */
export const INIT_PARTS: Record<string, string> = { "init-common.sh": common };

export const INIT_SCRIPT: string = inlineParts(script, INIT_PARTS);
