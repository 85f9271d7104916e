#!/bin/sh
# shellcheck disable=SC3043 # 'local' exists in every /bin/sh an image has: dash, bash, busybox
# /init of initrd-stateless.gz, xcimg's generic netboot initrd (see init-script.ts).
# The kernel has unpacked the image, this script and the node's overlay into its initramfs.
# Move the image into a real tmpfs, apply the node's identity, switch_root into its init.
# Only the image's own tools are used: any POSIX shell with `local` (dash, bash, busybox ash).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
has() { command -v "$1" >/dev/null 2>&1; }
IMGURL=
init_arg() {
	case "$1" in imgurl=*) IMGURL=${1#imgurl=} ;; esac
}
# shellcheck source=src/core/initrd/init-common.sh
. "$XC_SRC/init-common.sh"

[ -f /etc/xcimg/node.env ] && . /etc/xcimg/node.env
say "node ${XCIMG_NODE:-?}, image ${XCIMG_IMAGE:-?}${IMGURL:+ ($IMGURL)}"
if [ ! -e "$INIT" ] && [ ! -L "$INIT" ]; then
	rescue "$INIT is not in the initramfs: the image must be loaded as an initrd before initrd-stateless.gz"
fi

mkdir -p "$NEWROOT"
mount -t tmpfs -o "mode=0755$TMPFS_OPT" tmpfs "$NEWROOT" || rescue "cannot mount a tmpfs on $NEWROOT"

# What goes into the tmpfs: every top-level entry but the kernel filesystems, this script and
# the new root itself. The files this script still runs afterwards (mount, switch_root, their
# libraries) must stay in the initramfs, so they are copied; everything else is moved, file by
# file, with GNU tar --remove-files, which keeps the peak memory near one image instead of two.
# Images without GNU tar (busybox) are copied whole, and switch_root frees the initramfs.
is_runtime_lib() {
	case "${1##*/}" in *-linux-gnu* | *-linux-musl* | ld-* | *.so | *.so.*) return 0 ;; esac
	return 1
}
SKELETON='' MOVE='' COPY='' TOP=''
add() { eval "$1=\"\$$1 \$2\""; }
for e in /* /.[!.]* /..?*; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	case "$e" in /proc | /sys | /dev | /init | "$NEWROOT") continue ;; esac
	n=${e#/}
	add TOP "$n"
	if [ -L "$e" ] || [ ! -d "$e" ]; then add COPY "$n"; continue; fi
	case "$n" in
	# /etc is small and the tools below resolve through it (ld.so.cache, /etc/alternatives/awk)
	bin | sbin | lib | lib32 | lib64 | libx32 | etc) add COPY "$n" ;;
	usr)
		add SKELETON usr
		for u in /usr/* /usr/.[!.]*; do
			[ -e "$u" ] || [ -L "$u" ] || continue
			un=${u#/}
			if [ -L "$u" ] || [ ! -d "$u" ]; then add COPY "$un"; continue; fi
			case "${u##*/}" in
			bin | sbin | lib32 | lib64 | libx32 | libexec) add COPY "$un" ;;
			lib)
				add SKELETON usr/lib
				for l in /usr/lib/* /usr/lib/.[!.]*; do
					[ -e "$l" ] || [ -L "$l" ] || continue
					if is_runtime_lib "$l" || [ -L "$l" ] || [ ! -d "$l" ]; then add COPY "${l#/}"; else add MOVE "${l#/}"; fi
				done
				;;
			*) add MOVE "$un" ;;
			esac
		done
		;;
	*) add MOVE "$n" ;;
	esac
done

# tar -C / -c <flags> <names> | tar -x into the new root; fails if either side fails
tar_pipe() {
	local flags="$1"
	shift
	rm -f /.xcimg-status
	{
		tar -C / --one-file-system $flags -cf - -- "$@"
		echo $? >/.xcimg-status
	} | tar -C "$NEWROOT" -xpf - --numeric-owner || return 1
	read -r st </.xcimg-status && rm -f /.xcimg-status && [ "$st" = 0 ]
}

if has grep && tar --help 2>/dev/null | grep -q -- --remove-files; then
	# shellcheck disable=SC2086 # the lists are space-separated top-level names
	{ [ -z "$SKELETON" ] || tar_pipe --no-recursion $SKELETON; } &&
		{ [ -z "$MOVE" ] || tar_pipe --remove-files $MOVE; } &&
		{ [ -z "$COPY" ] || tar_pipe "" $COPY; } || rescue "moving the image into the tmpfs with tar failed"
else
	for e in $TOP; do
		cp -a "/$e" "$NEWROOT/" || rescue "copying /$e into the tmpfs failed"
	done
fi
mkdir -p "$NEWROOT/proc" "$NEWROOT/sys" "$NEWROOT/dev" "$NEWROOT/run" "$NEWROOT/tmp"

# Identity: the hostname now, so the image's init and its first log lines carry it.
if [ -s "$NEWROOT/etc/hostname" ] && read -r HN <"$NEWROOT/etc/hostname"; then
	echo "$HN" >/proc/sys/kernel/hostname
fi

iface_by_mac() {
	local d a
	for d in /sys/class/net/*; do
		read -r a <"$d/address" 2>/dev/null || continue
		[ "$a" = "$1" ] && echo "${d##*/}" && return 0
	done
	return 1
}

# ifupdown and busybox ifup configure interfaces by name, which only the running kernel
# knows: the overlay asks for this file with /etc/xcimg/ifupdown.
if [ -f "$NEWROOT/etc/xcimg/ifupdown" ] && [ -n "$XCIMG_MAC" ]; then
	IFACE=$(iface_by_mac "$XCIMG_MAC") || IFACE=eth0
	mkdir -p "$NEWROOT/etc/network"
	{
		echo "# written at boot by xcimg for $XCIMG_NODE ($XCIMG_MAC)"
		echo "auto lo"
		echo "iface lo inet loopback"
		echo "auto $IFACE"
		if [ "$XCIMG_NET" = static ]; then
			echo "iface $IFACE inet static"
			echo "	address $XCIMG_IP/$XCIMG_PREFIX"
			[ -n "$XCIMG_GATEWAY" ] && echo "	gateway $XCIMG_GATEWAY"
		else
			echo "iface $IFACE inet dhcp"
		fi
	} >"$NEWROOT/etc/network/interfaces"
fi

# postscripts (core/postscripts/runner.sh): systemd images start them from their units; any
# other init gets an inittab or rcS line, added here in the node's own root
if [ -f "$NEWROOT/etc/xcimg/postscripts.sh" ]; then
	sh "$NEWROOT/etc/xcimg/postscripts.sh" hook "$NEWROOT" "$INIT" || say "cannot hook the postscripts into $INIT"
fi
MB=
has df && has awk && MB=$(df -m "$NEWROOT" 2>/dev/null | awk 'NR==2 {print $3}')
say "root is a tmpfs${MB:+ holding $MB MiB}; starting $INIT"
[ -n "$SHELL_BREAK" ] && rescue "xcimg.shell was given"

umount /proc /sys 2>/dev/null
mount --move /dev "$NEWROOT/dev" 2>/dev/null || umount /dev 2>/dev/null
for sr in switch_root /sbin/switch_root /usr/sbin/switch_root; do
	has "$sr" && exec "$sr" "$NEWROOT" "$INIT"
done
has busybox && exec busybox switch_root "$NEWROOT" "$INIT"
# no switch_root in the image: do what it does, by hand (the rootfs copy is not freed)
cd "$NEWROOT" && mount --move . / && exec chroot . "$INIT"
rescue "cannot switch to $INIT"
