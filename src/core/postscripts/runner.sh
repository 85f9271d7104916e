#!/bin/sh
# xcimg's postscript runner on a netboot or statelite node (xCAT's xcatdsklspost without xcatd).
# Carried in the node's overlay as /etc/xcimg/postscripts.sh (see core/postscripts/node-files.ts).
#
#   postscripts.sh post        fetch and run the postscripts      (xcimg-postscripts.service)
#   postscripts.sh postboot    then the postbootscripts, report   (xcimg-postbootscripts.service)
#   postscripts.sh all         both, for images without systemd   (inittab / rcS, see hook)
#   postscripts.sh run LIST [PHASE]  run the scripts LIST names, already in /xcatpost
#                              (updatenode -P; sysclone's clone.sh for a built-in, PHASE postscript)
#   postscripts.sh hook ROOT   from the initrd's /init: start `all` from the image's own init
#                              when that is not systemd
#
# Each script runs from /xcatpost with xCAT's variables (/xcatpost/mypostscript) and its own
# arguments, never through a shell. A name /etc/xcimg/builtins has (xcimg's own syslog,
# setupntp, hardeths, confignetwork, otherpkgs: core/postscripts/builtins/) runs from there
# and is not fetched: a list line is a shell word list written by the management
# node with every word single-quoted. Output goes to /var/log/xcat/xcat.log, as on xCAT nodes.
# The state the management node reads over SSH (`xcimg node status`) is /run/xcimg/postscripts.status:
#   state=running|booted|failed  phase=...  current=<script>  failed=<scripts>  skipped=<names>
# and each script's exit status is a line of /run/xcimg/postscripts.rc.
PATH=/xcatpost:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
POST=/xcatpost
RUN=/run/xcimg
STATUS=$RUN/postscripts.status
RCS=$RUN/postscripts.rc
LOG=/var/log/xcat/xcat.log
BUILTINS=/etc/xcimg/builtins
XCIMG_POSTSCRIPTS_URL='' XCIMG_SKIPPED='' XCIMG_BUILTIN=''
# shellcheck disable=SC1091 # written per node by xcimg boot
[ -f /etc/xcimg/postscripts.env ] && . /etc/xcimg/postscripts.env

log() { echo "$(date '+%b %d %H:%M:%S' 2>/dev/null) $(hostname 2>/dev/null) xcimg-postscripts: $*" >>"$LOG" 2>/dev/null; }
say() {
	log "$*"
	echo "xcimg: $*" >/dev/console 2>/dev/null || true
}

# status KEY VALUE: replace one key of the status file (written whole, then renamed)
status() {
	mkdir -p "$RUN"
	{
		[ -f "$STATUS" ] && grep -v "^$1=" "$STATUS"
		echo "$1=$2"
	} >"$STATUS.new" && mv -f "$STATUS.new" "$STATUS"
}

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --connect-timeout 10 --max-time 300 -o "$2" "$1" 2>>"$LOG"
	elif command -v wget >/dev/null 2>&1; then
		# no -T: Debian 12's static busybox wget crashes with it; timeout(1) bounds the wait instead
		if command -v timeout >/dev/null 2>&1; then timeout 300 wget -q -O "$2" "$1" 2>>"$LOG"; else wget -q -O "$2" "$1" 2>>"$LOG"; fi
	else
		log "neither curl nor wget in the image: cannot fetch $1"
		return 1
	fi
}

# get NAME: /xcatpost/NAME fresh from the management node (a few tries while the network comes
# up); a copy the image already has (liteimg's /xcatpost) is used when the server cannot be reached
get() {
	[ -n "$XCIMG_POSTSCRIPTS_URL" ] || return 0
	_tries=0
	while :; do
		if fetch "$XCIMG_POSTSCRIPTS_URL/$1" "$POST/.$1.part"; then
			chmod 755 "$POST/.$1.part" && mv -f "$POST/.$1.part" "$POST/$1" && return 0
		fi
		rm -f "$POST/.$1.part"
		_tries=$((_tries + 1))
		[ "$_tries" -ge 12 ] && break
		sleep 5
	done
	if [ -f "$POST/$1" ]; then
		log "cannot fetch $XCIMG_POSTSCRIPTS_URL/$1: running the copy already in $POST"
		return 0
	fi
	return 1
}

FAILED=
# run_list PHASE LISTFILE FETCH(yes|no): each line one script and its arguments
run_list() {
	_phase=$1 _list=$2 _fetch=$3
	[ -f "$_list" ] || return 0
	FAILED=$(sed -n 's/^failed=//p' "$STATUS" 2>/dev/null)
	status phase "$_phase"
	while IFS= read -r _line || [ -n "$_line" ]; do
		[ -n "$_line" ] || continue
		eval "set -- $_line"
		_name=$1
		shift
		status current "$_name"
		_exec=./$_name _how=''
		if [ -f "$BUILTINS/$_name" ]; then
			_exec=$BUILTINS/$_name _how=" (xcimg's built-in)"
		elif [ "$_fetch" = yes ] && ! get "$_name"; then
			say "$_phase $_name: cannot fetch it from $XCIMG_POSTSCRIPTS_URL"
			echo "$_phase $_name fetch-failed" >>"$RCS"
			FAILED="$FAILED $_name"
			continue
		fi
		log "running $_phase $_name${*:+ $*}$_how"
		(
			set -a
			# shellcheck disable=SC1091 # xCAT's variables, rendered per node by xcimg
			. "$POST/mypostscript"
			set +a
			cd "$POST" && if [ -n "$_how" ]; then exec /bin/sh "$_exec" "$@"; else exec "$_exec" "$@"; fi
		) </dev/null >>"$LOG" 2>&1
		_rc=$?
		echo "$_phase $_name $_rc" >>"$RCS"
		log "$_phase $_name exited $_rc"
		if [ "$_rc" -ne 0 ]; then
			say "$_phase $_name failed (exit $_rc, see $LOG)"
			FAILED="$FAILED $_name"
		fi
	done <"$_list"
	FAILED=${FAILED# }
	[ -z "$FAILED" ] || status failed "$FAILED"
}

start() {
	rm -f "$STATUS" "$RCS"
	status state running
	# xCAT's default postscripts xcimg does not provide are named once per boot, not dropped silently
	[ -z "$XCIMG_BUILTIN" ] || log "done by xcimg itself, not run: $XCIMG_BUILTIN"
	if [ -n "$XCIMG_SKIPPED" ]; then
		say "postscripts not in the management node's postscripts directory, not run: $XCIMG_SKIPPED"
		status skipped "$XCIMG_SKIPPED"
	fi
}

finish() {
	FAILED=$(sed -n 's/^failed=//p' "$STATUS" 2>/dev/null)
	status current ""
	status finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	if [ -n "$FAILED" ]; then
		status state failed
		say "postscripts done, failed: $FAILED (see $LOG)"
		return 1
	fi
	status state booted
	say "postscripts done: booted"
}

# hook ROOT INIT: the image's init is not systemd: have it run `all` once it has started
hook() {
	_root=$1
	_init=${2:-/sbin/init}
	_target=$(readlink "$_root$_init" 2>/dev/null)
	case "$_init $_target" in *systemd*) return 0 ;; esac
	_cmd="/bin/sh /etc/xcimg/postscripts.sh all"
	if [ -f "$_root/etc/inittab" ]; then
		if grep -q ':initdefault:' "$_root/etc/inittab"; then
			echo "xcpo:2345:once:$_cmd" >>"$_root/etc/inittab" # sysvinit
		else
			echo "::once:$_cmd" >>"$_root/etc/inittab" # busybox init
		fi
	elif [ -f "$_root/etc/init.d/rcS" ]; then
		printf '\n# added at boot by xcimg: the node'"'"'s postscripts\n(%s </dev/null >/dev/null 2>&1 &)\n' "$_cmd" >>"$_root/etc/init.d/rcS"
	else
		# busybox init without an inittab runs /etc/init.d/rcS
		mkdir -p "$_root/etc/init.d"
		printf '#!/bin/sh\n# written at boot by xcimg: the node'"'"'s postscripts\n(%s </dev/null >/dev/null 2>&1 &)\n' "$_cmd" >"$_root/etc/init.d/rcS"
		chmod 755 "$_root/etc/init.d/rcS"
	fi
}

[ "$1" = hook ] || mkdir -p "$RUN" "$POST" "${LOG%/*}"
case "$1" in
post)
	start
	run_list postscript "$POST/xcimg-postscripts.list" yes
	;;
postboot)
	run_list postbootscript "$POST/xcimg-postbootscripts.list" yes
	finish
	;;
all)
	start
	run_list postscript "$POST/xcimg-postscripts.list" yes
	run_list postbootscript "$POST/xcimg-postbootscripts.list" yes
	finish
	;;
run)
	# updatenode -P: its own status file, so a node's boot state stays what boot left
	STATUS=$RUN/updatenode.status
	RCS=$RUN/updatenode.rc
	rm -f "$STATUS" "$RCS"
	status state running
	run_list "${3:-updatenode}" "$2" no
	if [ -n "$FAILED" ]; then
		status state failed
		echo "failed:$FAILED"
		exit 1
	fi
	status state "done"
	echo "done"
	;;
hook) hook "$2" "$3" ;;
*)
	echo "usage: $0 post|postboot|all|run LIST|hook ROOT [INIT]" >&2
	exit 64
	;;
esac
