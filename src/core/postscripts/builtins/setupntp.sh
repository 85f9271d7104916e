#!/bin/sh
# xcimg's built-in setupntp (xCAT's default postscript of that name, written anew for xcimg):
# the node's time from the site's NTP servers: site.ntpservers (NTPSERVERS, comma-separated),
# its management node ($MASTER) when that is empty or `<xcatmaster>` (xCAT's setupntp reads
# them so, xCAT/postscripts/setupntp). In that order of preference: chrony (chrony.conf where
# the package keeps it, xCAT's lines: server ... iburst, driftfile, makestep 1.0 3, rtcsync),
# ntpd (/etc/ntp.conf, which busybox ntpd reads too), systemd-timesyncd (a drop-in). The
# daemon is restarted when systemd runs it; busybox ntpd is started.
XCIMG_NAME=setupntp
note() { echo "$XCIMG_NAME: $*"; }
die() {
	echo "$XCIMG_NAME: error: $*" >&2
	exit 1
}

SERVERS=''
for _s in $(printf '%s' "${NTPSERVERS:-}" | tr ',' ' '); do
	case $_s in "<xcatmaster>" | "&lt;xcatmaster&gt;") _s=${MASTER:-} ;; esac
	[ -n "$_s" ] || continue
	case $_s in *[!A-Za-z0-9.:_-]*) die "'$_s' (site.ntpservers) is not a host name or address" ;; esac
	SERVERS="${SERVERS:+$SERVERS }$_s"
done
[ -n "$SERVERS" ] || SERVERS=${MASTER:-}
[ -n "$SERVERS" ] || die "no site.ntpservers and no MASTER: no NTP server to use"

running_systemd() { [ -d /run/systemd/system ]; }
restart() {
	running_systemd || return 0
	for _u in "$@"; do
		if systemctl cat "$_u" >/dev/null 2>&1; then
			systemctl restart "$_u" || die "$_u did not restart (systemctl status $_u)"
			return 0
		fi
	done
}
# put FILE: stdin as FILE, the original kept once as FILE.xcimg-orig
put() {
	mkdir -p "${1%/*}" || die "cannot make ${1%/*}"
	[ ! -f "$1" ] || [ -f "$1.xcimg-orig" ] || cp -p "$1" "$1.xcimg-orig"
	if ! cat >"$1.xcimg-new" || ! mv -f "$1.xcimg-new" "$1"; then die "cannot write $1"; fi
	note "wrote $1: $SERVERS"
}
servers() { for _s in $SERVERS; do echo "server $_s iburst"; done; }

if command -v chronyd >/dev/null 2>&1 || [ -d /etc/chrony ] || [ -f /etc/chrony.conf ]; then
	CONF=/etc/chrony.conf
	[ ! -d /etc/chrony ] || CONF=/etc/chrony/chrony.conf
	DRIFT=/var/lib/chrony/drift
	[ ! -d /etc/chrony ] || DRIFT=/var/lib/chrony/chrony.drift
	_old=$(sed -n 's/^[[:space:]]*driftfile[[:space:]]\{1,\}//p' "$CONF" "$CONF.xcimg-orig" 2>/dev/null | head -n 1)
	[ -z "$_old" ] || DRIFT=$_old
	{
		echo "# written by xcimg's setupntp postscript: the site's NTP servers"
		servers
		echo "driftfile $DRIFT"
		echo "makestep 1.0 3"
		echo "rtcsync"
		echo "logdir /var/log/chrony"
	} | put "$CONF" || exit 1
	restart chronyd.service chrony.service
elif command -v ntpd >/dev/null 2>&1; then
	{
		echo "# written by xcimg's setupntp postscript: the site's NTP servers"
		servers
		if ntpd --help 2>&1 | grep -q BusyBox; then :; else
			echo "driftfile /var/lib/ntp/drift"
			echo "restrict default nomodify notrap nopeer noquery"
			echo "restrict 127.0.0.1"
		fi
	} | put /etc/ntp.conf || exit 1
	if ntpd --help 2>&1 | grep -q BusyBox; then
		if ! running_systemd; then
			for _p in $(pidof ntpd 2>/dev/null); do kill "$_p" 2>/dev/null; done
			ntpd || die "busybox ntpd did not start"
		fi
	else
		restart ntpd.service ntp.service ntpsec.service
	fi
elif [ -x /lib/systemd/systemd-timesyncd ] || [ -x /usr/lib/systemd/systemd-timesyncd ]; then
	{
		echo "# written by xcimg's setupntp postscript: the site's NTP servers"
		echo "[Time]"
		echo "NTP=$SERVERS"
	} | put /etc/systemd/timesyncd.conf.d/xcimg.conf || exit 1
	restart systemd-timesyncd.service
else
	die "no chrony, ntpd or systemd-timesyncd on this node"
fi
