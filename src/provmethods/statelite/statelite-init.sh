#!/.xcimg/bin/busybox sh
# shellcheck shell=dash
# /init of initrd-statelite.gz, xcimg's statelite initrd (see initrd.ts). Runs with the
# initrd's own static busybox only: with an NFS root nothing of the image is reachable yet.
#   root=nfs:<server>:<path>[:<options>]  mount the shared image read-only over NFS
#   (no root=)                            the image (rootimg-statelite.gz) was unpacked by the
#                                         kernel before this initrd: move it into a tmpfs
# then run the statelite setup (/.xcimg/statelite = rc.statelite) on the new root, put the
# node's identity (its overlay) on top, and switch_root into the image's init.
X=/.xcimg
PATH=$X/bin
export PATH
OV=$X/overlay

$X/bin/busybox --install -s $X/bin
NFSROOT=
init_arg() {
	case "$1" in root=nfs:*) NFSROOT=${1#root=nfs:} ;; esac
}
# shellcheck source=src/core/initrd/init-common.sh
. "$XC_SRC/init-common.sh"
mkdir -p /tmp

# The node's overlay is unpacked in $OV (not over the image): its files go on top of the
# finished root at the end, each where the node will see it.
[ -f $X/overlay.list ] || rescue "no $X/overlay.list: the node's overlay was not loaded after initrd-statelite.gz"
[ -f $OV/etc/xcimg/node.env ] && . $OV/etc/xcimg/node.env
WHERE="in memory"
[ -n "$NFSROOT" ] && WHERE="nfs:$NFSROOT"
say "node ${XCIMG_NODE:-?}, image ${XCIMG_IMAGE:-?}, statelite root $WHERE"
[ -r $OV/etc/xcimg/statelite.conf ] || rescue "no /etc/xcimg/statelite.conf in the node's overlay"
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
modprobe_x -q -a af_packet nfs nfsv3 nfsv4 2>/dev/null

# --- network: only when something is mounted over it ---------------------------------------
needs_net() {
	[ -n "$NFSROOT" ] && return 0
	for arg in $(cat /proc/cmdline); do case "$arg" in STATEMNT=*:/*) return 0 ;; esac done
	while read -r kind a b _; do
		case "$kind" in statemnt) case "$a" in *:/*) return 0 ;; esac ;; tree) case "$b" in *:/*) return 0 ;; esac ;; esac
	done <$OV/etc/xcimg/statelite.conf
	return 1
}
iface_by_mac() {
	for d in /sys/class/net/*; do
		read -r a <"$d/address" 2>/dev/null || continue
		[ "$a" = "$1" ] && echo "${d##*/}" && return 0
	done
	return 1
}
net_up() {
	[ -n "$XCIMG_MAC" ] || rescue "node.env names no MAC: cannot tell which NIC to bring up"
	i=0
	while ! IFACE=$(iface_by_mac "$XCIMG_MAC"); do
		i=$((i + 1))
		[ $i -gt 20 ] && { rescue "no network interface with MAC $XCIMG_MAC (is its driver in the image's /lib/modules?)"; return 1; }
		sleep 1
		load_drivers
	done
	ip link set lo up
	ip link set "$IFACE" up
	if [ "$XCIMG_NET" = static ] && [ -n "$XCIMG_IP" ]; then
		ip addr add "$XCIMG_IP/${XCIMG_PREFIX:-24}" dev "$IFACE"
		[ -n "$XCIMG_GATEWAY" ] && ip route add default via "$XCIMG_GATEWAY" dev "$IFACE"
	else
		udhcpc -i "$IFACE" -f -q -n -t 10 -T 2 -s $X/udhcpc.script >/dev/null 2>&1 || rescue "no DHCP answer on $IFACE"
	fi
	say "network: $IFACE $(ip -4 addr show dev "$IFACE" | awk '/inet / {print $2; exit}')"
}
needs_net && net_up

# nfs_mount <server> <path> <dir> <options>: the kernel's own NFS mount (no mount.nfs needed):
# busybox passes the options through, so the server address is added as addr=, and nolock
# (no statd in here) unless NFSv4 or "lock" is asked for.
nfs_mount() {
	o=$4
	case ",$o," in *,addr=*) ;; *) case "$1" in *[!0-9.]*) ;; *) o="$o,addr=$1" ;; esac ;; esac
	case ",$o," in *,vers=4* | *,nfsvers=4* | *,lock,* | *,nolock,*) ;; *) o="$o,nolock" ;; esac
	mount -t nfs -o "${o#,}" "$1:$2" "$3"
}

mkdir -p $NEWROOT
if [ -n "$NFSROOT" ]; then
	srv=${NFSROOT%%:*}
	rest=${NFSROOT#*:}
	path=${rest%%:*}
	opts=ro
	[ "$rest" != "$path" ] && opts=${rest#*:}
	i=0
	until nfs_mount "$srv" "$path" $NEWROOT "$opts"; do
		i=$((i + 1))
		[ $i -ge 5 ] && { rescue "cannot mount $srv:$path (options $opts) on $NEWROOT"; break; }
		say "mounting $srv:$path failed; trying again in $((i * 2)) s"
		sleep $((i * 2))
	done
	say "root is $srv:$path over NFS ($opts)"
else
	[ -e "$INIT" ] || [ -L "$INIT" ] || rescue "$INIT is not in the initramfs: rootimg-statelite.gz must be loaded before initrd-statelite.gz"
	mount -t tmpfs -o "mode=0755$TMPFS_OPT" tmpfs $NEWROOT || rescue "cannot mount a tmpfs on $NEWROOT"
	# move, not copy: entry by entry (two levels deep) so memory peaks near one image, not two
	move_into() { # $1 = directory in the initramfs ("" = /), $2 = depth left
		for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			case "$e" in /proc | /sys | /dev | /init | "$X" | "$NEWROOT") continue ;; esac
			if [ "$2" -gt 0 ] && [ -d "$e" ] && [ ! -L "$e" ]; then
				mkdir -p "$NEWROOT$e"
				chmod "$(stat -c %a "$e")" "$NEWROOT$e"
				chown "$(stat -c %u:%g "$e")" "$NEWROOT$e"
				move_into "$e" $(($2 - 1))
				touch -r "$e" "$NEWROOT$e" 2>/dev/null
			else
				mv "$e" "$NEWROOT$e" || rescue "moving $e into the tmpfs failed"
			fi
		done
	}
	move_into "" 2
	mkdir -p $NEWROOT/proc $NEWROOT/sys $NEWROOT/dev $NEWROOT/run $NEWROOT/tmp
	MB=$(df -m $NEWROOT | awk 'NR==2 {print $3}')
	say "root is a tmpfs holding $MB MiB"
fi
for d in proc sys dev; do [ -d "$NEWROOT/$d" ] || rescue "the image has no /$d directory"; done

# --- identity, part 1: room for the overlay's files on a read-only root ---------------------
# A file of the overlay goes where the node will see it. One below a litefile entry lands in
# the entry's tmpfs or persistent copy (part 2). Elsewhere, a missing file whose directory is
# read-only (the NFS image) gets that directory copied into memory and bind-mounted over it
# now, before rc.statelite, so statelite's own mounts below it stay on top.
CONF=$OV/etc/xcimg/statelite.conf
OVL=$X/ovl
mkdir -p $OVL && mount -t tmpfs -o mode=755 tmpfs $OVL || rescue "cannot mount a tmpfs on $OVL"
under_entry() {
	while read -r kind _opt p _; do
		case "$kind" in entry | child) p=${p%/} && case "$1" in "$p" | "$p"/*) return 0 ;; esac ;; esac
	done <$CONF
	return 1
}
# (touch, not ": >": a failed redirection on a special built-in ends the shell)
writable_dir() { touch "$1/.xcimg-w" 2>/dev/null && rm -f "$1/.xcimg-w"; }
make_room() {
	{ [ -e "$NEWROOT$1" ] || [ -L "$NEWROOT$1" ]; } && return 0
	under_entry "$1" && return 0
	d=${1%/*}
	while [ -n "$d" ] && [ ! -d "$NEWROOT$d" ]; do d=${d%/*}; done
	writable_dir "$NEWROOT$d" && return 0
	[ -n "$d" ] || return 1
	mkdir -p "$OVL$d" && cp -a "$NEWROOT$d/." "$OVL$d/" && mount --bind "$OVL$d" "$NEWROOT$d"
}
while read -r f; do
	[ -n "$f" ] && { make_room "$f" || say "no room for $f on the read-only root"; }
done <$X/overlay.list

# --- statelite: rc.statelite against the new root -------------------------------------------
STATELITE_ROOT=$NEWROOT STATELITE_CONF=$CONF sh $X/statelite || rescue "statelite setup failed (see $NEWROOT/.statelite/statelite.log)"

# --- identity, part 2: the files themselves ---------------------------------------------------
# Through statelite links and mounts, into the room made above, or, for an existing file of
# the read-only image, as a copy bind-mounted over it.
mkdirs_like() { # create $NEWROOT$1 with the overlay's modes for the directories it adds
	[ -d "$NEWROOT$1" ] && return 0
	mkdirs_like "${1%/*}" || return 1
	mkdir "$NEWROOT$1" 2>/dev/null || return 1
	[ -d "$OV$1" ] && chmod "$(stat -c %a "$OV$1")" "$NEWROOT$1"
	return 0
}
put() {
	mkdirs_like "${1%/*}" 2>/dev/null && cp -a "$OV$1" "$NEWROOT$1" 2>/dev/null && return 0
	if [ -e "$NEWROOT$1" ] && [ ! -d "$NEWROOT$1" ] && [ ! -L "$OV$1" ]; then
		mkdir -p "$OVL${1%/*}" && cp -a "$OV$1" "$OVL$1" && mount --bind "$OVL$1" "$NEWROOT$1" && return 0
	fi
	return 1
}
while read -r f; do
	[ -n "$f" ] || continue
	put "$f" || say "cannot put $f on the node's root"
done <$X/overlay.list

# ifupdown and busybox ifup configure interfaces by name, which only the running kernel knows
if [ -f $OV/etc/xcimg/ifupdown ] && [ -n "$XCIMG_MAC" ]; then
	IFACE=$(iface_by_mac "$XCIMG_MAC") || IFACE=eth0
	mkdir -p $OV/etc/network
	{
		echo "# written at boot by xcimg for $XCIMG_NODE ($XCIMG_MAC)"
		echo "auto lo"
		echo "iface lo inet loopback"
		echo "auto $IFACE"
		if grep -q '^manual' $OV/etc/xcimg/ifupdown; then
			echo "# the initramfs configured $IFACE and the root file system depends on it"
			echo "iface $IFACE inet manual"
		elif [ "$XCIMG_NET" = static ]; then
			echo "iface $IFACE inet static"
			echo "	address $XCIMG_IP/$XCIMG_PREFIX"
			[ -n "$XCIMG_GATEWAY" ] && echo "	gateway $XCIMG_GATEWAY"
		else
			echo "iface $IFACE inet dhcp"
		fi
	} >$OV/etc/network/interfaces
	put /etc/network/interfaces || say "cannot write /etc/network/interfaces"
fi

# postscripts (core/postscripts/runner.sh): systemd images start them from their units; any
# other init gets an inittab or rcS line, added here in the node's own root
if [ -f "$NEWROOT/etc/xcimg/postscripts.sh" ]; then
	sh "$NEWROOT/etc/xcimg/postscripts.sh" hook "$NEWROOT" "$INIT" || say "cannot hook the postscripts into $INIT"
fi
say "starting $INIT"
[ -n "$SHELL_BREAK" ] && rescue "xcimg.shell was given"
umount $X/proc /proc /sys 2>/dev/null
mount --move /dev $NEWROOT/dev 2>/dev/null || umount /dev 2>/dev/null
# shellcheck disable=SC2093 # exec returns only when switch_root could not run: then rescue
exec switch_root $NEWROOT "$INIT"
rescue "cannot switch to $INIT"
