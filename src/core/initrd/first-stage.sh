#!/.xcimg/bin/busybox sh
# shellcheck shell=dash
# /init of initrd-fetch.gz, the first stage for images packed as squashfs or tar (see
# first-stage.ts). Runs with the initrd's own static busybox: the image is not here yet.
#   imgurl=http://.../rootimg.sfs       fetched, loop-mounted read-only, an overlayfs with a
#                                       tmpfs upper layer on top
#   imgurl=http://.../rootimg.tar.<c>   fetched and unpacked into a tmpfs by the carried GNU tar
# then the node's identity (its overlay) goes on top and we switch_root into the image's init.
X=/.xcimg
PATH=$X/bin
export PATH
OV=$X/overlay

$X/bin/busybox --install -s $X/bin
IMGURL=
init_arg() {
	case "$1" in imgurl=*) IMGURL=${1#imgurl=} ;; esac
}
# shellcheck source=src/core/initrd/init-common.sh
. "$XC_SRC/init-common.sh"
mkdir -p /tmp

[ -f $X/overlay.list ] || rescue "no $X/overlay.list: the node's overlay was not loaded after initrd-fetch.gz"
[ -f $OV/etc/xcimg/node.env ] && . $OV/etc/xcimg/node.env
say "node ${XCIMG_NODE:-?}, image ${XCIMG_IMAGE:-?}, fetching ${IMGURL:-?}"
[ -n "$IMGURL" ] || rescue "no imgurl= on the kernel command line: nothing to fetch"
[ -s $OV/etc/hostname ] && read -r HN <$OV/etc/hostname && echo "$HN" >/proc/sys/kernel/hostname

# --- drivers: what the devices ask for (modalias), as udev would; modules from the image ----
modprobe_x() { chroot $X /bin/busybox modprobe "$@"; }
mkdir -p $X/proc && mount -t proc proc $X/proc
load_drivers() {
	last='' n=0
	while [ $n -lt 4 ]; do
		aliases=$(cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u)
		[ "$aliases" = "$last" ] && break
		last=$aliases
		# shellcheck disable=SC2086 # one alias per word
		modprobe_x -q -a $aliases 2>/dev/null
		n=$((n + 1))
	done
}
load_drivers
modprobe_x -q af_packet 2>/dev/null

# --- network: the boot NIC, by the MAC the node booted with --------------------------------
iface_by_mac() {
	for d in /sys/class/net/*; do
		read -r a <"$d/address" 2>/dev/null || continue
		[ "$a" = "$1" ] && echo "${d##*/}" && return 0
	done
	return 1
}
[ -n "$XCIMG_MAC" ] || rescue "node.env names no MAC: cannot tell which NIC to bring up"
i=0
while ! IFACE=$(iface_by_mac "$XCIMG_MAC"); do
	i=$((i + 1))
	[ $i -gt 20 ] && { rescue "no network interface with MAC $XCIMG_MAC (is its driver in the image's /lib/modules?)"; break; }
	sleep 1
	load_drivers
done
ip link set "$IFACE" up
if [ "$XCIMG_NET" = static ] && [ -n "$XCIMG_IP" ]; then
	ip addr add "$XCIMG_IP/${XCIMG_PREFIX:-24}" dev "$IFACE"
	[ -n "$XCIMG_GATEWAY" ] && ip route add default via "$XCIMG_GATEWAY" dev "$IFACE"
else
	udhcpc -i "$IFACE" -f -q -n -t 10 -T 2 -s $X/udhcpc.script >/dev/null 2>&1 || rescue "no DHCP answer on $IFACE"
fi
say "network: $IFACE $(ip -4 addr show dev "$IFACE" | awk '/inet / {print $2; exit}')"

# --- the image: fetched into memory (the initramfs), retried as the web server may be busy --
IMG=$X/image/${IMGURL##*/}
mkdir -p $X/image
i=0
until wget -q -O "$IMG" "$IMGURL"; do
	i=$((i + 1))
	[ $i -ge 5 ] && { rescue "cannot fetch $IMGURL"; break; }
	say "fetching $IMGURL failed; trying again in $((i * 2)) s"
	sleep $((i * 2))
done
say "fetched $(($(stat -c %s "$IMG") / 1048576)) MiB"

mkdir -p $NEWROOT
case "$IMG" in
*.sfs)
	for m in loop squashfs overlay; do
		grep -qw "$m" /proc/filesystems /proc/devices 2>/dev/null || modprobe_x "$m" ||
			rescue "cannot load the $m module of the image's kernel: a squashfs root needs squashfs, overlay and loop"
	done
	mkdir -p $X/ro $X/rw
	mount -t squashfs -o ro,loop "$IMG" $X/ro || rescue "cannot mount $IMG (squashfs, read-only)"
	mount -t tmpfs -o "mode=0755$TMPFS_OPT" tmpfs $X/rw || rescue "cannot mount a tmpfs on $X/rw"
	mkdir -p $X/rw/upper $X/rw/work
	mount -t overlay -o lowerdir=$X/ro,upperdir=$X/rw/upper,workdir=$X/rw/work overlay $NEWROOT ||
		rescue "cannot mount the overlayfs (squashfs below, tmpfs above) on $NEWROOT"
	# the upper directory is the tmpfs's root mode: the image's / gets its own
	chmod "$(stat -c %a $X/ro)" $X/rw/upper
	say "root is the squashfs image under an overlayfs, writes go to a tmpfs"
	;;
*.tar.*)
	mount -t tmpfs -o "mode=0755$TMPFS_OPT" tmpfs $NEWROOT || rescue "cannot mount a tmpfs on $NEWROOT"
	[ -f $X/tools/tar.run ] || rescue "no GNU tar in this initrd"
	read -r TAR <$X/tools/tar.run
	read -r TARFLAGS <$X/tools/tar.flags
	case "$IMG" in
	*.gz) UNPACK="gunzip -c" ;;
	*.xz) UNPACK="unxz -c" ;;
	*.zst) read -r UNPACK <$X/tools/zstd.run && UNPACK="$UNPACK -dc" ;;
	*) rescue "cannot tell how $IMG is compressed" ;;
	esac
	rm -f $X/unpack.status
	# shellcheck disable=SC2086 # command words and flags
	{
		$UNPACK "$IMG"
		echo $? >$X/unpack.status
	} | $TAR -C $NEWROOT -xpf - $TARFLAGS || rescue "unpacking $IMG into the tmpfs failed"
	read -r st <$X/unpack.status
	[ "$st" = 0 ] || rescue "uncompressing $IMG failed (exit $st)"
	rm -f "$IMG"
	MB=$(df -m $NEWROOT | awk 'NR==2 {print $3}')
	say "root is a tmpfs holding $MB MiB"
	;;
*) rescue "$IMG is neither a squashfs nor a tar image" ;;
esac
for d in proc sys dev run tmp; do mkdir -p "$NEWROOT/$d"; done

# --- identity: the overlay's files, each where the node will see it -----------------------
mkdirs_like() { # create $NEWROOT$1 with the overlay's modes for the directories it adds
	[ -d "$NEWROOT$1" ] && return 0
	mkdirs_like "${1%/*}" || return 1
	mkdir "$NEWROOT$1" 2>/dev/null || return 1
	[ -d "$OV$1" ] && chmod "$(stat -c %a "$OV$1")" "$NEWROOT$1"
	return 0
}
while read -r f; do
	[ -n "$f" ] || continue
	{ mkdirs_like "${f%/*}" && rm -f "$NEWROOT$f" && cp -a "$OV$f" "$NEWROOT$f"; } 2>/dev/null || say "cannot put $f on the node's root"
done <$X/overlay.list

# ifupdown and busybox ifup configure interfaces by name, which only the running kernel knows
if [ -f $NEWROOT/etc/xcimg/ifupdown ]; then
	mkdir -p $NEWROOT/etc/network
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
	} >$NEWROOT/etc/network/interfaces
fi

# postscripts (core/postscripts/runner.sh): systemd images start them from their units; any
# other init gets an inittab or rcS line, added here in the node's own root
if [ -f "$NEWROOT/etc/xcimg/postscripts.sh" ]; then
	sh "$NEWROOT/etc/xcimg/postscripts.sh" hook "$NEWROOT" "$INIT" || say "cannot hook the postscripts into $INIT"
fi
[ -e "$NEWROOT$INIT" ] || [ -L "$NEWROOT$INIT" ] || rescue "$INIT is not in the image"
# the image brings its network up itself, as after a single-stage boot: leave the NIC clean
ip addr flush dev "$IFACE" 2>/dev/null
ip link set "$IFACE" down 2>/dev/null
say "starting $INIT"
[ -n "$SHELL_BREAK" ] && rescue "xcimg.shell was given"
umount $X/proc /proc /sys 2>/dev/null
mount --move /dev $NEWROOT/dev 2>/dev/null || umount /dev 2>/dev/null
# shellcheck disable=SC2093 # exec returns only when switch_root could not run: then rescue
exec switch_root $NEWROOT "$INIT"
rescue "cannot switch to $INIT"
