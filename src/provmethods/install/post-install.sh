# shellcheck shell=sh
# xcimg's end of an install (xCAT's post.xcat and xcatinstallpost without xcatd), appended by
# xcimg boot to each node's <installdir>/autoinst/<node>+post after that node's own part (its
# files and XCIMG_* settings, post-install.ts). The node's kickstart %post, preseed
# late_command or AutoYaST chroot script fetches it from the management node and runs
#   sh <node>+post [TARGET]
# TARGET is the installed system's root as the installer sees it (/target in debian-installer);
# empty or / when the script already runs inside it (kickstart %post, AutoYaST chrooted=true).
# It writes the node's files into the target, fetches the node's postscripts and
# postbootscripts into /xcatpost, runs the postscripts inside the target with xcimg's runner,
# enables xcimg-install-firstboot.service (postbootscripts at first boot, then the status at
# every boot) and finally PUTs the node's "installed" marker, after which the node's iPXE
# script boots the disk (docs/install.md).
ROOT=${1:-}
[ "$ROOT" = / ] && ROOT=
LOG=/var/log/xcimg-install.log

say() {
	echo "xcimg-install: $*"
	echo "xcimg-install: $*" >/dev/console 2>/dev/null || true
	echo "$(date '+%b %d %H:%M:%S' 2>/dev/null) xcimg-install: $*" >>"$ROOT$LOG" 2>/dev/null || true
}

# put MODE PATH: stdin to TARGET/PATH
put() {
	mkdir -p "$ROOT${2%/*}" && cat >"$ROOT$2.xcimg-new" && chmod "$1" "$ROOT$2.xcimg-new" && mv -f "$ROOT$2.xcimg-new" "$ROOT$2"
}

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --connect-timeout 10 --max-time 300 -o "$2" "$1"
	else
		wget -q -O "$2" "$1"
	fi
}

# mark: HTTP PUT of the node's own marker. debian-installer's busybox wget cannot PUT, so
# without curl the request is written with nc (HTTP/1.0, one small body).
mark() {
	# a GRUB environment block naming the node: GRUB2 files read it with load_env, iPXE only
	# fetches it (core/boot/loaders.ts GRUB2_MARKER_VAR and grub2Config)
	_body=$(printf '# GRUB Environment Block\nxcimg_done=%s\n# installed %s\n' "$XCIMG_NODE" "$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)")
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --connect-timeout 10 --max-time 60 -X PUT --data-binary "$_body" "$XCIMG_MARK_URL" >/dev/null
		return
	fi
	_hp=${XCIMG_MARK_URL#http://}
	_path=/${_hp#*/}
	_hp=${_hp%%/*}
	_host=${_hp%:*}
	_port=80
	[ "$_host" = "$_hp" ] || _port=${_hp##*:}
	_reply=$(printf 'PUT %s HTTP/1.0\r\nHost: %s\r\nContent-Length: %s\r\nContent-Type: text/plain\r\n\r\n%s' \
		"$_path" "$_hp" "${#_body}" "$_body" | nc "$_host" "$_port" 2>/dev/null | head -n 1)
	case "$_reply" in "HTTP/1."[01]" 20"[014]*) return 0 ;; esac
	echo "$_reply" >&2
	return 1
}

say "writing $XCIMG_NODE's files into ${ROOT:-/}"
xcimg_files || {
	say "cannot write the node's files into ${ROOT:-/}"
	exit 1
}
mkdir -p "$ROOT/xcatpost" "$ROOT/var/lib/xcimg" "$ROOT/var/log/xcat"
for _n in $XCIMG_FETCH; do
	if fetch "$XCIMG_POSTSCRIPTS_URL/$_n" "$ROOT/xcatpost/.$_n.part"; then
		chmod 755 "$ROOT/xcatpost/.$_n.part" && mv -f "$ROOT/xcatpost/.$_n.part" "$ROOT/xcatpost/$_n"
	else
		rm -f "$ROOT/xcatpost/.$_n.part"
		say "cannot fetch $XCIMG_POSTSCRIPTS_URL/$_n (it will be reported as failed)"
	fi
done

# the postscripts, inside the installed system, as xCAT runs them at the end of an install
if [ -n "$ROOT" ]; then
	chroot "$ROOT" /bin/sh /etc/xcimg/postscripts.sh post
else
	/bin/sh /etc/xcimg/postscripts.sh post
fi
# /run is not the installed system's: keep the postscripts' results for its first boot
for _f in postscripts.status postscripts.rc; do
	[ -f "$ROOT/run/xcimg/$_f" ] && cp "$ROOT/run/xcimg/$_f" "$ROOT/var/lib/xcimg/$_f"
done
cp "$ROOT/var/log/xcat/xcat.log" "$ROOT/var/lib/xcimg/install-xcat.log" 2>/dev/null
_failed=$(sed -n 's/^failed=//p' "$ROOT/var/lib/xcimg/postscripts.status" 2>/dev/null)
say "postscripts run${_failed:+, failed: $_failed}"

if [ -z "$XCIMG_MARK_URL" ]; then
	say "no installed marker for this node (the node has no hosts.ip): it network-boots the installer again until 'xcimg boot $XCIMG_NODE boot'"
elif mark; then
	say "installed: marked at $XCIMG_MARK_URL, the next boot starts the disk"
else
	say "cannot PUT $XCIMG_MARK_URL: the next network boot installs again unless 'xcimg boot $XCIMG_NODE boot' is run"
fi
exit 0
