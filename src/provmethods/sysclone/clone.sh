#!/bin/sh
# xcimg clone, node side (see node-script.ts and docs/clone.md). The node netboots its own
# sysclone image as a diskless clone environment; systemd starts this script
# (xcimg-clone.service in xcimg-clone.target) with the plan xcimg wrote into the node's overlay
# (/etc/xcimg/clone/plan.env). It uses only the image's own tools:
#
#   check     pick the disk, choose the plan variant that fits it, check tools and firmware
#             needs — all before anything is written: a disk too small is left untouched
#   partition sfdisk, LVM, mkfs/mkswap (new UUIDs), mount under /run/xcimg/target
#   copy      the image's pax tar, fetched over HTTP in byte ranges (each chunk retried and
#             resumed, checked against its sha256), decompressed into GNU tar, which restores
#             owners, modes, hardlinks, xattrs (file capabilities, SELinux labels), ACLs, sparse files
#   configure fstab and other files to the new UUIDs, overrides, the node's identity
#             (hostname, network, SSH host key, machine-id), bootloader, postscripts,
#             postbootscripts (a one-shot unit for the first boot)
#   finish    mark the disk with the job, wait for the management node to switch the node to
#             local boot (xcimg clone --status / --wait), reboot into the disk
#
# Progress goes to /run/xcimg/clone.status, which `xcimg clone --status` reads over SSH.
# Any POSIX sh (dash, bash, busybox ash). With XC_LIB=1 only the functions are defined (tests).

# The phases, one file each in clone.d/. The node gets one script: node-script.ts inlines
# each file at its '.' line below (the node's /etc/xcimg/clone/ holds only clone.sh and
# plan.env), so these lines run as written only from a source checkout.
XC_SRC=${XC_SRC:-$(dirname "$0")/clone.d}
# shellcheck source=src/provmethods/sysclone/clone.d/common.sh
. "$XC_SRC/common.sh"
# shellcheck source=src/provmethods/sysclone/clone.d/http.sh
. "$XC_SRC/http.sh"
# shellcheck source=src/provmethods/sysclone/clone.d/check.sh
. "$XC_SRC/check.sh"
# shellcheck source=src/provmethods/sysclone/clone.d/partition.sh
. "$XC_SRC/partition.sh"
# shellcheck source=src/provmethods/sysclone/clone.d/copy.sh
. "$XC_SRC/copy.sh"
# shellcheck source=src/provmethods/sysclone/clone.d/configure.sh
. "$XC_SRC/configure.sh"
# shellcheck source=src/provmethods/sysclone/clone.d/finish.sh
. "$XC_SRC/finish.sh"

main() {
	STARTED=$(date +%s)
	mkdir -p "$XC_RUN"
	: >>"$LOG"
	. "$XC_DIR/plan.env" || fail "cannot read $XC_DIR/plan.env"
	status starting "job $XC_JOB, image $XC_IMAGE"
	check_before_writing
	if already_cloned; then
		status "done" 100 "$DISK already holds this clone (job $XC_JOB); waiting for the management node to switch $XC_NODE to local boot"
		wait_for_local_boot
		return
	fi
	fetch_retry "$XC_ARCHIVE.sha256" "$XC_RUN/probe.sums" 60 || fail "cannot reach the management node at http://$XC_MASTER:$XC_HTTP_PORT (fetching $XC_ARCHIVE.sha256)"
	partition
	format
	mount_all
	copy_image
	status configuring "fstab and UUIDs"
	write_fstab
	fix_uuids
	overrides
	identity
	bind_mounts
	bootloader
	postscripts
	postbootscripts
	mark_disk
	unmount_all
	status "done" 100 "${WARNINGS:+warnings:$WARNINGS }waiting for the management node to switch $XC_NODE to local boot"
	wait_for_local_boot
}

[ "${XC_LIB:-}" = 1 ] || main "$@"
