# shellcheck shell=sh
# xcimg clone, node side — finish: mark the disk, unmount, wait for local boot and reboot.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

mark_disk() {
	mkdir -p "$T/var/lib/xcimg"
	{
		echo "{"
		echo "  \"job\": \"$XC_JOB\","
		echo "  \"image\": \"$XC_IMAGE\","
		echo "  \"node\": \"$XC_NODE\","
		echo "  \"disk\": \"$DISK\","
		echo "  \"firmware\": \"$FIRMWARE\","
		echo "  \"finished\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)\","
		echo "  \"mkconfig\": \"$XC_GRUB_MKCONFIG\","
		printf '  "uuids": {'
		_i=1
		_sep=
		while [ "$_i" -le "$XC_NFS" ]; do
			for pair in "$(var "XC_F${_i}_OLDUUID")=$(var "NEW_UUID_$_i")" "$(var "XC_F${_i}_OLDPARTUUID")=$(var "NEW_PARTUUID_$_i")"; do
				[ -n "${pair%%=*}" ] && [ -n "${pair#*=}" ] && printf '%s"%s": "%s"' "$_sep" "${pair%%=*}" "${pair#*=}" && _sep=", "
			done
			_i=$((_i + 1))
		done
		echo "}"
		echo "}"
	} >"$T/var/lib/xcimg/clone.json"
	{
		echo "job=$XC_JOB"
		echo "node=$XC_NODE"
		echo "state=done"
		echo "percent=100"
		echo "message=cloned from $XC_IMAGE onto $DISK in $(($(date +%s) - STARTED)) s${WARNINGS:+; warnings:$WARNINGS}"
		echo "disk=$DISK"
		echo "updated=$(date +%s 2>/dev/null)"
	} >"$T/var/lib/xcimg/clone.status"
	cp "$LOG" "$T/var/lib/xcimg/clone.log" 2>/dev/null
}

unmount_all() {
	sync
	for m in $(awk -v t="$T" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	has vgchange && [ "$XC_NVGS" -gt 0 ] && vgchange -an >/dev/null 2>&1
	sync
}

# Reboot once the management node's boot file for this node no longer starts this clone job
# (xcimg clone --status/--wait switch finished nodes to local boot); XC_WAIT > 0 caps the wait.
wait_for_local_boot() {
	_waited=0
	while :; do
		fetch "$XC_LOADER" "$XC_RUN/loader"
		case $? in
		0) grep -q "xcimg.clone=$XC_JOB" "$XC_RUN/loader" || break ;;
		2) break ;;
		esac
		if [ "${XC_WAIT:-0}" -gt 0 ] && [ "$_waited" -ge "$XC_WAIT" ]; then
			log "no switch to local boot after $_waited s: rebooting anyway"
			break
		fi
		sleep 10
		_waited=$((_waited + 10))
	done
	status "done" 100 "rebooting into the disk"
	sleep 2
	systemctl reboot 2>/dev/null || reboot -f
}
