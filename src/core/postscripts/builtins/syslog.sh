#!/bin/sh
# xcimg's built-in syslog (xCAT's default postscript of that name, written anew for xcimg):
# the node forwards all its messages (`*.*`, UDP, as xCAT's xCAT/postscripts/syslog writes)
# to its management node ($MASTER), or to the site table's `syslogserver` (SYSLOGSERVER) when
# the site names one. noderes.syslog=ignore (SYSLOG) leaves the node's syslog alone, as in
# xCAT. With rsyslog: a drop-in /etc/rsyslog.d/xcimg-remote.conf and a restart; else busybox
# syslogd restarted with -R; a node with neither (journald only) fails the script, visibly.
XCIMG_NAME=syslog
note() { echo "$XCIMG_NAME: $*"; }
die() {
	echo "$XCIMG_NAME: error: $*" >&2
	exit 1
}

if [ "${SYSLOG:-}" = ignore ]; then
	note "noderes.syslog is 'ignore': the node's syslog is left as it is"
	exit 0
fi
DEST=${SYSLOGSERVER:-${MASTER:-}}
[ -n "$DEST" ] || die "no MASTER (nor site.syslogserver) to forward to"
case $DEST in *[!A-Za-z0-9.:_-]*) die "'$DEST' is not a host name or address" ;; esac
# an IPv6 address in rsyslog's brackets; a port after the last colon only for names and IPv4
case $DEST in *:*:*) RDEST="[$DEST]" ;; *) RDEST=$DEST ;; esac

running_systemd() { [ -d /run/systemd/system ]; }

if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || [ -f /etc/rsyslog.conf ]; then
	mkdir -p /etc/rsyslog.d || die "cannot make /etc/rsyslog.d"
	if ! printf '# written by xcimg'"'"'s syslog postscript: every message to the management node too\n*.* @%s\n' "$RDEST" >/etc/rsyslog.d/xcimg-remote.conf.new ||
		! mv -f /etc/rsyslog.d/xcimg-remote.conf.new /etc/rsyslog.d/xcimg-remote.conf; then
		die "cannot write /etc/rsyslog.d/xcimg-remote.conf"
	fi
	if [ -f /etc/rsyslog.conf ] && ! grep -q 'rsyslog\.d' /etc/rsyslog.conf; then
		# shellcheck disable=SC2016 # rsyslog's own $ directive
		printf '\n# added by xcimg: read the drop-ins\n$IncludeConfig /etc/rsyslog.d/*.conf\n' >>/etc/rsyslog.conf
	fi
	note "forwarding to $DEST (/etc/rsyslog.d/xcimg-remote.conf)"
	if running_systemd; then
		systemctl restart rsyslog.service || die "rsyslog did not restart (systemctl status rsyslog)"
	elif [ -x /etc/init.d/rsyslog ]; then
		/etc/init.d/rsyslog restart || die "rsyslog did not restart"
	fi
	exit 0
fi

if command -v syslogd >/dev/null 2>&1 && syslogd --help 2>&1 | grep -q 'BusyBox' && syslogd --help 2>&1 | grep -q -- '-R'; then
	_pid=$(cat /var/run/syslogd.pid 2>/dev/null)
	[ -z "$_pid" ] || kill "$_pid" 2>/dev/null
	# -L: keep logging locally (/var/log/messages) as well
	syslogd -R "$RDEST" -L || die "busybox syslogd -R $DEST did not start"
	note "forwarding to $DEST (busybox syslogd -R)"
	exit 0
fi
die "neither rsyslog nor busybox syslogd on this node: cannot forward its messages to $DEST"
