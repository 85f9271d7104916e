# shellcheck shell=sh disable=SC2034
# (SC2034: these are set here and read by the other phases)
# xcimg clone, node side — settings and the helpers every phase uses: status file, log, fail, run.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
LC_ALL=C
export LC_ALL
XC_DIR=${XC_DIR:-/etc/xcimg/clone}
XC_RUN=${XC_RUN:-/run/xcimg}
STATUS=$XC_RUN/clone.status
LOG=$XC_RUN/clone.log
T=$XC_RUN/target
CHUNKS=$XC_RUN/chunks
DISK=
DISK_BYTES=0
VARIANT=
REST=0
WARNINGS=

has() { command -v "$1" >/dev/null 2>&1; }
# printf, not echo: dash's echo turns the \r of an EFI path (\EFI\rocky) into a carriage return
log() { printf '%s %s\n' "$(date '+%H:%M:%S' 2>/dev/null)" "$*" >>"$LOG"; }

# status <state> [percent] <message>: one small file replaced atomically, and the console
status() {
	_st=$1
	shift
	_pc=
	case "${1:-}" in [0-9] | [0-9][0-9] | 100) _pc=$1 && shift ;; esac
	mkdir -p "$XC_RUN"
	{
		echo "job=${XC_JOB:-}"
		echo "node=${XC_NODE:-}"
		echo "state=$_st"
		echo "percent=$_pc"
		printf 'message=%s\n' "$*"
		echo "disk=$DISK"
		echo "updated=$(date +%s 2>/dev/null)"
	} >"$STATUS.tmp" && mv -f "$STATUS.tmp" "$STATUS"
	log "status $_st${_pc:+ $_pc%} $*"
	# stderr: stdout may be the image stream (stream_archive); systemd sends both to the console
	printf '%s\n' "xcimg-clone: $_st${_pc:+ $_pc%}${*:+: $*}" >&2
}

fail() {
	status failed "$*"
	echo "xcimg-clone: the node stays up in the clone environment; log: $LOG" >&2
	exit 1
}

# run <what> <command...>: the command's output goes to the log; failure stops the clone
run() {
	_what=$1
	shift
	log "+ $*"
	"$@" >>"$LOG" 2>&1 && return 0
	_rc=$?
	fail "$_what failed (exit $_rc: $*): $(tail -n 3 "$LOG" | tr '\n' ' ')"
}

var() { eval "printf '%s' \"\${$1:-}\""; }
