# shellcheck shell=sh disable=SC2034
# (SC2034: the variables set here are read by the /init that sources this part)
# What both initrds' /init do first (core/initrd/xcimg-init.sh, netboot's initrd-stateless.gz;
# src/provmethods/statelite/statelite-init.sh, initrd-statelite.gz): messages, the rescue
# shell, the kernel's filesystems, the kernel arguments both read, the node's identity
# variables. Inlined where each /init sources it (core/script/inline.ts); PATH is set before.
# An /init's own kernel arguments go to its init_arg function, defined before this part.
NEWROOT=/.xcimg-root

say() { echo "xcimg: $*" >/dev/console 2>/dev/null || echo "xcimg: $*"; }
rescue() {
	say "$*"
	say "starting a shell on the console; exit it to try to continue booting"
	sh </dev/console >/dev/console 2>&1
}

mkdir -p /proc /sys /dev
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null

INIT=/sbin/init
TMPFS_OPT=
SHELL_BREAK=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	init=*) INIT=${arg#init=} ;;
	xcimg.tmpfs=*) TMPFS_OPT=",size=${arg#xcimg.tmpfs=}" ;;
	xcimg.shell) SHELL_BREAK=1 ;;
	xcimg.debug) set -x ;;
	*) init_arg "$arg" ;;
	esac
done

XCIMG_NODE='' XCIMG_IMAGE='' XCIMG_MAC='' XCIMG_NET='' XCIMG_IP='' XCIMG_PREFIX='' XCIMG_GATEWAY=''
