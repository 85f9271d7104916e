# shellcheck shell=sh
# xcimg clone, node side — configure: fstab and UUIDs, overrides, identity, bootloader, postscripts, postbootscripts.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

# --- configuring the copy ----------------------------------------------------------------------
sed_escape() { printf '%s' "$1" | sed 's/[][\\/.*^$&]/\\&/g'; }

write_fstab() {
	_f=$XC_RUN/fstab
	printf '%s' "$XC_FSTAB" >"$_f"
	_i=1
	while [ "$_i" -le "$XC_NFS" ]; do
		sed -i "s/@XC:$(sed_escape "$(var "XC_F${_i}_ID")")@/UUID=$(var "NEW_UUID_$_i")/g" "$_f"
		_i=$((_i + 1))
	done
	cat "$_f" >"$T/etc/fstab"
}

# Every file that may name a filesystem by UUID or PARTUUID gets the new ones.
fix_uuids() {
	FIXED_INITRD=
	for rel in $XC_FIX_FILES; do
		for f in $T/$rel; do
			[ -f "$f" ] && [ ! -L "$f" ] || continue
			_before=$(cksum <"$f")
			_i=1
			while [ "$_i" -le "$XC_NFS" ]; do
				for pair in "$(var "XC_F${_i}_OLDUUID")=$(var "NEW_UUID_$_i")" "$(var "XC_F${_i}_OLDPARTUUID")=$(var "NEW_PARTUUID_$_i")"; do
					_o=${pair%%=*}
					_n=${pair#*=}
					[ -n "$_o" ] && [ -n "$_n" ] || continue
					sed -i "s/$(sed_escape "$_o")/$_n/g" "$f"
					_lo=$(printf '%s' "$_o" | tr 'A-Z' 'a-z')
					[ "$_lo" != "$_o" ] && sed -i "s/$(sed_escape "$_lo")/$_n/g" "$f"
				done
				_i=$((_i + 1))
			done
			if [ "$(cksum <"$f")" != "$_before" ]; then
				log "new UUIDs in /$rel"
				case " $XC_INITRD_FILES " in *" $rel "*) FIXED_INITRD=1 ;; esac
			fi
		done
	done
}

overrides() {
	for ov in $XC_OVERRIDES; do
		status configuring "override ${ov##*/}"
		fetch_retry "$ov" "$XC_RUN/override.tar" 12 || fail "cannot fetch the override $ov from $XC_MASTER"
		log "+ unpacking $ov"
		# --no-overwrite-dir: directories the image has (/, /etc, ...) keep their owner and mode
		# whatever the override tree's copies of them say
		$XC_DECOMPRESS <"$XC_RUN/override.tar" | tar -x -f - --no-overwrite-dir --numeric-owner -p --same-owner --xattrs --xattrs-include='*' --acls --warning=no-timestamp -C "$T" >>"$LOG" 2>&1 ||
			fail "unpacking the override ${ov##*/} failed: $(tail -n 2 "$LOG" | tr '\n' ' ')"
		rm -f "$XC_RUN/override.tar"
	done
}

identity() {
	status configuring "identity of $XC_NODE"
	echo "$XC_NODE" >"$T/etc/hostname"
	if [ -f "$T/etc/hosts" ] && grep -q '^127\.0\.1\.1[[:space:]]' "$T/etc/hosts"; then
		sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1\t$XC_NODE/" "$T/etc/hosts"
	fi
	# files the overlay gave this clone environment, for the installed system too
	for rel in $XC_IDENTITY_FILES; do
		[ -e "/$rel" ] || [ -L "/$rel" ] || continue
		mkdir -p "$T/${rel%/*}"
		rm -f "$T/$rel"
		cp -a "/$rel" "$T/$rel" || fail "cannot copy /$rel onto the disk"
	done
	[ -f /etc/xcimg/ifupdown ] && [ -f /etc/network/interfaces ] && mkdir -p "$T/etc/network" && cp /etc/network/interfaces "$T/etc/network/interfaces"
	if [ -s /root/.ssh/authorized_keys ]; then
		mkdir -p "$T/root/.ssh" && chmod 700 "$T/root/.ssh"
		touch "$T/root/.ssh/authorized_keys"
		while IFS= read -r k; do
			[ -n "$k" ] && ! grep -qxF "$k" "$T/root/.ssh/authorized_keys" && echo "$k" >>"$T/root/.ssh/authorized_keys"
		done </root/.ssh/authorized_keys
		chmod 600 "$T/root/.ssh/authorized_keys"
	fi
	# a new machine-id at first boot (systemd makes one for an empty file)
	[ -f "$T/etc/machine-id" ] && : >"$T/etc/machine-id"
	[ -f "$T/var/lib/dbus/machine-id" ] && [ ! -L "$T/var/lib/dbus/machine-id" ] && rm -f "$T/var/lib/dbus/machine-id"
	rm -f "$T/var/lib/systemd/random-seed"
}

bind_mounts() {
	for d in dev dev/pts proc sys run; do
		mkdir -p "$T/$d"
		mount --bind "/$d" "$T/$d" || fail "cannot bind-mount /$d into the new system"
	done
	[ -d /sys/firmware/efi/efivars ] && mount --bind /sys/firmware/efi/efivars "$T/sys/firmware/efi/efivars" 2>/dev/null
	return 0
}

in_target() { run "$1" chroot "$T" /bin/sh -c "$2"; }

bootloader() {
	status bootloader "$FIRMWARE"
	if [ -n "$FIXED_INITRD" ] && [ -n "$XC_INITRD_CMD" ]; then in_target "rebuilding the initramfs" "$XC_INITRD_CMD"; fi
	if [ "$FIRMWARE" = bios ]; then
		in_target "installing GRUB for BIOS on $DISK" "$XC_GRUB_INSTALL --target=i386-pc --recheck $DISK"
	elif [ -n "$XC_GRUB_EFI" ] && ! { [ "$XC_SECUREBOOT" = shim ] && secure_boot_enforced; }; then
		_nv=
		[ -w /sys/firmware/efi/efivars ] || _nv=--no-nvram
		in_target "installing GRUB for UEFI" "$XC_GRUB_INSTALL --target=x86_64-efi --efi-directory=$XC_ESP_MOUNT --bootloader-id=$XC_EFI_ID --recheck $_nv"
		# also the removable-media path, for firmware that forgets or never had a boot entry
		in_target "installing GRUB for UEFI (removable path)" "$XC_GRUB_INSTALL --target=x86_64-efi --efi-directory=$XC_ESP_MOUNT --removable --recheck --no-nvram"
	else
		has efibootmgr || [ -x "$T/usr/sbin/efibootmgr" ] || fail "no efibootmgr to register $XC_SHIM with the firmware"
		in_target "registering $XC_SHIM with the firmware" "efibootmgr -q -c -d $DISK -p $XC_ESP -L '$XC_EFI_LABEL' -l '$XC_SHIM'"
	fi
	in_target "writing the GRUB configuration" "$XC_GRUB_MKCONFIG"
}

# Each line of XC_POSTSCRIPTS / XC_POSTBOOTSCRIPTS is one script and its arguments as
# single-quoted shell words (node-plan.ts): `eval "set -- $line"` only splits them, nothing in
# them is expanded.
fetch_postscript() {
	[ -s "$T/xcatpost/$1" ] && return 0
	if ! fetch_retry "$XC_POSTSCRIPTS_URL/$1" "$T/xcatpost/$1" 12 </dev/null; then
		WARNINGS="$WARNINGS postscript $1 could not be fetched;"
		return 1
	fi
	chmod 755 "$T/xcatpost/$1"
}

# A name xcimg provides itself (syslog, setupntp, ...: core/postscripts/builtins/) has its script
# in the plan's directory, with the shared runner and the node's mypostscript (sysclone/postscripts.ts):
# it is not fetched, and runs through that runner in the new system, as on netboot and install nodes.
is_builtin() { [ -f "$XC_DIR/builtins/$1" ]; }

# the runner, the built-ins and mypostscript into the new system, where the runner looks for them
install_builtins() {
	[ -z "${BUILTINS_IN:-}" ] || return 0
	{ mkdir -p "$T/etc/xcimg" "$T/xcatpost" && rm -rf "$T/etc/xcimg/builtins" && cp -R "$XC_DIR/builtins" "$T/etc/xcimg/builtins" &&
		cp "$XC_DIR/postscripts.sh" "$T/etc/xcimg/postscripts.sh" && cp "$XC_DIR/mypostscript" "$T/xcatpost/mypostscript" &&
		chmod 600 "$T/xcatpost/mypostscript"; } || fail "cannot copy xcimg's built-in postscripts into the new system"
	BUILTINS_IN=1
}

# run_builtin LINE: one built-in entry, by the runner's `run` mode (output in the new system's /var/log/xcat/xcat.log)
run_builtin() {
	install_builtins
	printf '%s\n' "$1" >"$T/xcatpost/xcimg-clone-builtin.list"
	chroot "$T" /bin/sh /etc/xcimg/postscripts.sh run /xcatpost/xcimg-clone-builtin.list postscript </dev/null >>"$LOG" 2>&1
	_rc=$?
	rm -f "$T/xcatpost/xcimg-clone-builtin.list"
	return "$_rc"
}

# shellcheck disable=SC2120 # the positional parameters are each line's own, set with 'set --'
postscripts() {
	[ -n "$XC_POSTSCRIPTS" ] || return 0
	mkdir -p "$T/xcatpost"
	while IFS= read -r _line; do
		[ -n "$_line" ] || continue
		eval "set -- $_line"
		status postscripts "$*"
		if is_builtin "$1"; then
			log "+ postscript $* (xcimg's built-in)"
			run_builtin "$_line" || WARNINGS="$WARNINGS postscript $1 failed (see /var/log/xcat/xcat.log on the disk);"
			continue
		fi
		fetch_postscript "$1" || continue
		log "+ postscript $*"
		# xCAT's basic variables; the script runs from /xcatpost with its own arguments
		if ! chroot "$T" /usr/bin/env NODE="$XC_NODE" MASTER="$XC_MASTER" XCATMASTER="$XC_MASTER" OSVER="$XC_OSVER" ARCH="$XC_ARCH" PROFILE="$XC_PROFILE" \
			IMAGENAME="$XC_IMAGE" PROVMETHOD=sysclone NODESETSTATE=install INSTALLDIR=/install /bin/sh -c 'cd /xcatpost && exec "./$0" "$@"' "$@" </dev/null >>"$LOG" 2>&1; then
			WARNINGS="$WARNINGS postscript $1 failed (see $LOG);"
		fi
	done <<EOF
$XC_POSTSCRIPTS
EOF
}

# a value as one single-quoted shell word
sq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# postbootscripts run once, at the clone's first boot from its disk: a one-shot systemd unit
# (the runner below) runs them in order, logs to /var/log/xcimg/postbootscripts.log, leaves
# /var/lib/xcimg/postbootscripts.done and disables itself
# shellcheck disable=SC2120 # the positional parameters are each line's own, set with 'set --'
postbootscripts() {
	[ -n "$XC_POSTBOOTSCRIPTS" ] || return 0
	if [ ! -d "$T/etc/systemd/system" ]; then
		WARNINGS="$WARNINGS postbootscripts need systemd in the image: not run;"
		return 0
	fi
	status postscripts "postbootscripts for the first boot"
	mkdir -p "$T/xcatpost" "$T/etc/systemd/system/multi-user.target.wants"
	: >"$T/xcatpost/xcimg-postbootscripts.list"
	while IFS= read -r _line; do
		[ -n "$_line" ] || continue
		eval "set -- $_line"
		if is_builtin "$1"; then install_builtins; elif ! fetch_postscript "$1"; then continue; fi
		printf '%s\n' "$_line" >>"$T/xcatpost/xcimg-postbootscripts.list"
	done <<EOF
$XC_POSTBOOTSCRIPTS
EOF
	{
		for _v in NODE:XC_NODE MASTER:XC_MASTER XCATMASTER:XC_MASTER OSVER:XC_OSVER ARCH:XC_ARCH PROFILE:XC_PROFILE IMAGENAME:XC_IMAGE; do
			echo "${_v%%:*}=$(sq "$(var "${_v#*:}")")"
		done
		echo "PROVMETHOD=sysclone NODESETSTATE=boot INSTALLDIR=/install"
		echo "export NODE MASTER XCATMASTER OSVER ARCH PROFILE IMAGENAME PROVMETHOD NODESETSTATE INSTALLDIR"
	} >"$T/xcatpost/xcimg-postbootscripts.env"
	cat >"$T/xcatpost/xcimg-postbootscripts" <<'EOF'
#!/bin/sh
# written by xcimg clone: runs the node's postbootscripts once, at its first boot from disk
. /xcatpost/xcimg-postbootscripts.env
LOG=/var/log/xcimg/postbootscripts.log
mkdir -p /var/log/xcimg /var/lib/xcimg
failed=
while IFS= read -r line; do
	[ -n "$line" ] || continue
	eval "set -- $line"
	echo "$(date '+%F %T') + $*" >>"$LOG"
	name=$1
	shift
	if [ -f "/etc/xcimg/builtins/$name" ]; then
		# xcimg's built-in: through the shared runner, as at clone time
		printf '%s\n' "$line" >/xcatpost/.xcimg-builtin.list
		/bin/sh /etc/xcimg/postscripts.sh run /xcatpost/.xcimg-builtin.list postbootscript </dev/null >>"$LOG" 2>&1 || failed="$failed $name"
	else
		(cd /xcatpost && exec "./$name" "$@") </dev/null >>"$LOG" 2>&1 || failed="$failed $name"
	fi
done </xcatpost/xcimg-postbootscripts.list
printf 'finished=%s\nfailed=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${failed# }" >/var/lib/xcimg/postbootscripts.done
rm -f /etc/systemd/system/multi-user.target.wants/xcimg-postbootscripts.service
echo "xcimg: postbootscripts done${failed:+, failed:$failed} (see $LOG)" >/dev/console 2>/dev/null || true
[ -z "$failed" ]
EOF
	chmod 755 "$T/xcatpost/xcimg-postbootscripts"
	cat >"$T/etc/systemd/system/xcimg-postbootscripts.service" <<'EOF'
[Unit]
Description=xcimg clone: the node's postbootscripts, once
Wants=network-online.target
After=network-online.target
ConditionPathExists=!/var/lib/xcimg/postbootscripts.done

[Service]
Type=oneshot
ExecStart=/xcatpost/xcimg-postbootscripts
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
EOF
	ln -sf /etc/systemd/system/xcimg-postbootscripts.service "$T/etc/systemd/system/multi-user.target.wants/xcimg-postbootscripts.service"
	rm -f "$T/var/lib/xcimg/postbootscripts.done"
	log "postbootscripts for the first boot: $(tr '\n' ' ' <"$T/xcatpost/xcimg-postbootscripts.list")"
}
