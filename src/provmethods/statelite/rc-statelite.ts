import script from "./rc.statelite.sh" with { type: "text" };

/**
 * The node-side statelite script (POSIX sh, busybox-compatible), embedded in the binary. lite
 * installs it as <rootimg>/etc/init.d/statelite (where xCAT's initramfs looks for it); the
 * boot files run it from the initramfs with the image at /sysroot.
 */
export const RC_STATELITE: string = script;
