# shellcheck shell=sh
# xcimg clone, node side — check: the disk, the plan variant that fits it, tools and firmware, before anything is written.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

# --- the disk ---------------------------------------------------------------------------------
partdev() {
	case "$1" in
	*[0-9]) echo "${1}p$2" ;;
	*) echo "$1$2" ;;
	esac
}

# The target disk: --disk, else the golden node's disk name if this node has it, else the
# first fixed, writable, non-empty disk.
pick_disk() {
	if [ -n "${XC_DISK:-}" ]; then
		DISK=$XC_DISK
	else
		_cand=$(lsblk -dn -b -o NAME,TYPE,RM,RO,SIZE 2>/dev/null | awk '$2 == "disk" && $3 == 0 && $4 == 0 && $5 > 0 && $1 !~ /^(zram|loop|fd|sr)/ {print $1}')
		DISK=
		for d in $_cand; do [ "$d" = "$XC_GOLDEN_DISK" ] && DISK=/dev/$d; done
		[ -z "$DISK" ] && for d in $_cand; do DISK=/dev/$d && break; done
	fi
	[ -n "$DISK" ] && [ -b "$DISK" ] || fail "no disk to clone onto (lsblk lists no fixed, writable disk${XC_DISK:+; --disk named $XC_DISK})"
	DISK_BYTES=$(blockdev --getsize64 "$DISK" 2>/dev/null || lsblk -dn -b -o SIZE "$DISK")
}

# The first plan variant whose minimum fits the disk (the rule of planner.ts planFor), and the
# size of the partition that takes the rest. Nothing is written before this passes.
select_variant() {
	_mib=$((DISK_BYTES / 1048576))
	VARIANT=
	_k=1
	while [ "$_k" -le "$XC_NVARIANTS" ]; do
		if [ "$(var "XC_V${_k}_MINDISK")" -le "$_mib" ]; then
			VARIANT=$_k
			REST=$((_mib - $(var "XC_V${_k}_OVERHEAD") - $(var "XC_V${_k}_FIXED")))
			return 0
		fi
		_k=$((_k + 1))
	done
	_need=$(var "XC_V${XC_NVARIANTS}_MINDISK")
	fail "the disk $DISK has $DISK_BYTES bytes ($_mib MiB); image $XC_IMAGE needs at least $((_need * 1048576)) bytes ($_need MiB) with $XC_GROWER shrunk to its minimum. The disk was not touched"
}

# nth word of a list
nth() {
	_nth=$1
	eval "set -- $2"
	eval "printf '%s' \"\${$_nth}\""
}

part_size() { # <partition index 1..n> → MiB, or empty for an extended partition that fills the disk
	_s=$(nth "$1" "$(var "XC_V${VARIANT}_SIZES")")
	case "$_s" in
	R) [ "$(var "XC_P$1_ROLE")" = extended ] && echo "" || echo "$REST" ;;
	*) echo "$_s" ;;
	esac
}

# The firmware's SecureBoot variable: 4 bytes of attributes, then 1 when Secure Boot is enforced.
# XC_EFIVARS is for tests; on a node it is the firmware's own.
secure_boot_enforced() {
	_v="${XC_EFIVARS:-/sys/firmware/efi/efivars}/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	[ -r "$_v" ] || return 1
	[ "$(od -An -tu1 -j4 -N1 "$_v" 2>/dev/null | tr -d ' ')" = 1 ]
}

# A disk that must boot with Secure Boot enforced needs the image's signed chain, or the node
# would be left with a disk its firmware refuses to start.
check_secure_boot() {
	secure_boot_enforced || return 0
	[ -n "$XC_SECUREBOOT" ] || fail "this node enforces Secure Boot, but the image has no signed shim and GRUB (Debian, Ubuntu: shim-signed and grub-efi-amd64-signed; EL, SUSE: shim in the ESP), so its disk would not boot. Install them on the golden node and capture again. The disk was not touched"
	log "Secure Boot is enforced: the image's signed shim and GRUB go onto the ESP"
}

check_before_writing() {
	pick_disk
	status checking "disk $DISK, $DISK_BYTES bytes"
	select_variant
	for t in sfdisk tar blkid mount umount chroot sync $XC_DECOMPRESS_TOOL $XC_MKFS_TOOLS; do
		has "$t" || fail "the image has no $t, which the clone needs; install it on the golden node and capture again. The disk was not touched"
	done
	tar --help 2>/dev/null | grep -q -- --xattrs || fail "the image's tar cannot restore xattrs (GNU tar 1.27+ needed). The disk was not touched"
	pick_fetcher || fail "the image has none of curl, wget, python3 or bash to fetch files over HTTP. The disk was not touched"
	if [ -d /sys/firmware/efi ]; then
		FIRMWARE=uefi
		[ -n "$XC_ESP" ] || fail "this node boots UEFI, but the golden layout has no EFI system partition. The disk was not touched"
		[ -n "$XC_GRUB_EFI$XC_SHIM" ] || fail "this node boots UEFI, but the image has neither GRUB's x86_64-efi modules nor a shim to boot from. The disk was not touched"
		check_secure_boot
	else
		FIRMWARE=bios
		[ "$XC_LABEL" = gpt ] && [ -z "$XC_BIOSBOOT" ] && fail "this node boots BIOS, but the golden GPT layout has no BIOS boot partition for GRUB. The disk was not touched"
		[ -n "$XC_GRUB_PC" ] || fail "this node boots BIOS, but the image has no GRUB for BIOS (i386-pc modules). The disk was not touched"
	fi
	log "disk $DISK $DISK_BYTES bytes, variant $VARIANT, rest $REST MiB, firmware $FIRMWARE, fetcher $FETCHER"
}

# A disk that already holds this job's finished clone is not cloned again (a later PXE boot
# before the management node switched the node to local boot).
already_cloned() {
	_dev=$(fs_dev "$XC_ROOTFS") || return 1
	[ -b "$_dev" ] || return 1
	mkdir -p "$XC_RUN/probe"
	mount -o ro "$_dev" "$XC_RUN/probe" 2>/dev/null || return 1
	_ok=1
	grep -q "\"job\": *\"$XC_JOB\"" "$XC_RUN/probe/var/lib/xcimg/clone.json" 2>/dev/null && _ok=0
	umount "$XC_RUN/probe" 2>/dev/null
	return $_ok
}
