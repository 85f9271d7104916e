# shellcheck shell=sh
# xcimg clone, node side — partition: sfdisk, LVM, mkfs/mkswap with new UUIDs, mounts under $T.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

# fs_dev <fs index>: the device of a filesystem of the plan
fs_dev() {
	_d=$(var "XC_F$1_DEV")
	case "$_d" in
	p*) partdev "$DISK" "${_d#p}" ;;
	lv:*)
		_vl=${_d#lv:}
		has vgchange && vgchange -ay "${_vl%%/*}" >/dev/null 2>&1
		echo "/dev/$_vl"
		;;
	esac
}

settle() {
	has udevadm && udevadm settle --timeout=30 >/dev/null 2>&1
	sleep 1
}

wait_dev() {
	_n=0
	while [ ! -b "$1" ]; do
		_n=$((_n + 1))
		[ "$_n" -ge 30 ] && fail "$1 did not appear after partitioning"
		settle
	done
}

# the partition table for sfdisk: the golden partitions in order, with their numbers, types,
# names and flags, each sized by the chosen variant (an extended partition of "rest" fills the disk)
sfdisk_script() {
	echo "label: $XC_LABEL"
	_i=1
	while [ "$_i" -le "$XC_NPARTS" ]; do
		_n=$(var "XC_P${_i}_NUM")
		_s=$(part_size "$_i")
		_line="$(partdev "$DISK" "$_n") : ${_s:+size=${_s}MiB, }type=$(var "XC_P${_i}_TYPE")"
		[ -n "$(var "XC_P${_i}_NAME")" ] && _line="$_line, name=\"$(var "XC_P${_i}_NAME")\""
		[ -n "$(var "XC_P${_i}_ATTRS")" ] && _line="$_line, attrs=\"$(var "XC_P${_i}_ATTRS")\""
		[ "$(var "XC_P${_i}_BOOTABLE")" = 1 ] && _line="$_line, bootable"
		echo "$_line"
		_i=$((_i + 1))
	done
}

partition() {
	status partitioning "$DISK ($XC_LABEL)"
	# whatever the disk held before may be active (LVM autoactivation in this environment)
	if has vgchange; then
		for vg in $(pvs --noheadings -o vg_name "$DISK"* 2>/dev/null | sort -u); do run "deactivating $vg" vgchange -an "$vg"; done
	fi
	sfdisk_script >"$XC_RUN/sfdisk.script"
	log "$(cat "$XC_RUN/sfdisk.script")"
	has wipefs && run "wiping $DISK" wipefs -a -f "$DISK"
	run "partitioning $DISK" sfdisk -q --wipe always --wipe-partitions always "$DISK" <"$XC_RUN/sfdisk.script"
	has partx && partx -u "$DISK" >/dev/null 2>&1
	settle
	_i=1
	while [ "$_i" -le "$XC_NPARTS" ]; do
		[ "$(var "XC_P${_i}_ROLE")" = extended ] || wait_dev "$(partdev "$DISK" "$(var "XC_P${_i}_NUM")")"
		_i=$((_i + 1))
	done
	_j=1
	while [ "$_j" -le "$XC_NVGS" ]; do
		_vg=$(var "XC_VG${_j}_NAME")
		_pv=$(partdev "$DISK" "$(var "XC_VG${_j}_PART")")
		run "creating the LVM physical volume $_pv" pvcreate -ff -y "$_pv"
		run "creating the volume group $_vg" vgcreate -y -s "$(var "XC_VG${_j}_EXTENT")m" "$_vg" "$_pv"
		_rest=
		for ix in $(var "XC_VG${_j}_LVS"); do
			_name=$(var "XC_L${ix}_NAME")
			_s=$(nth "$ix" "$(var "XC_V${VARIANT}_LVSIZES")")
			if [ "$_s" = R ]; then _rest=$_name; else run "creating $_vg/$_name" lvcreate -y -W y -Z y -n "$_name" -L "${_s}m" "$_vg"; fi
		done
		[ -n "$_rest" ] && run "creating $_vg/$_rest" lvcreate -y -W y -Z y -n "$_rest" -l 100%FREE "$_vg"
		settle
		_j=$((_j + 1))
	done
}

format() {
	status formatting "new filesystems and swap"
	_i=1
	while [ "$_i" -le "$XC_NFS" ]; do
		_dev=$(fs_dev "$_i")
		wait_dev "$_dev"
		_label=$(var "XC_F${_i}_LABEL")
		# shellcheck disable=SC2046 # the golden node's mkfs.vfat options are several words
		case "$(var "XC_F${_i}_TYPE")" in
		ext2 | ext3 | ext4) run "mkfs on $_dev" "mkfs.$(var "XC_F${_i}_TYPE")" -F -q ${_label:+-L "$_label"} "$_dev" ;;
		xfs) run "mkfs on $_dev" mkfs.xfs -f -q ${_label:+-L "$_label"} "$_dev" ;;
		vfat) run "mkfs on $_dev" mkfs.vfat $(var "XC_F${_i}_MKFSOPTS") ${_label:+-n "$_label"} "$_dev" ;;
		swap) run "mkswap on $_dev" mkswap ${_label:+-L "$_label"} "$_dev" ;;
		esac
		eval "NEW_UUID_$_i=\$(blkid -p -s UUID -o value \"\$_dev\" 2>/dev/null)"
		eval "NEW_PARTUUID_$_i=\$(blkid -p -s PART_ENTRY_UUID -o value \"\$_dev\" 2>/dev/null)"
		[ -n "$(var "NEW_UUID_$_i")" ] || fail "cannot read the UUID of the new filesystem on $_dev"
		log "$_dev: $(var "XC_F${_i}_TYPE") UUID $(var "NEW_UUID_$_i") (was $(var "XC_F${_i}_OLDUUID"))"
		_i=$((_i + 1))
	done
}

# mount the filesystems in mount-point order (the plan lists them so)
mount_all() {
	mkdir -p "$T"
	for _i in $XC_MOUNT_ORDER; do
		_mp=$(var "XC_F${_i}_MOUNT")
		mkdir -p "$T$_mp"
		case "$(var "XC_F${_i}_TYPE")" in
		vfat) run "mounting $_mp" mount -t vfat -o quiet "$(fs_dev "$_i")" "$T$_mp" ;;
		*) run "mounting $_mp" mount -t "$(var "XC_F${_i}_TYPE")" "$(fs_dev "$_i")" "$T$_mp" ;;
		esac
	done
}
