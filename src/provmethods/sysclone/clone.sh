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
log() { echo "$(date '+%H:%M:%S' 2>/dev/null) $*" >>"$LOG"; }

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
		echo "message=$*"
		echo "disk=$DISK"
		echo "updated=$(date +%s 2>/dev/null)"
	} >"$STATUS.tmp" && mv -f "$STATUS.tmp" "$STATUS"
	log "status $_st${_pc:+ $_pc%} $*"
	# stderr: stdout may be the image stream (stream_archive); systemd sends both to the console
	echo "xcimg-clone: $_st${_pc:+ $_pc%}${*:+: $*}" >&2
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

# --- HTTP: curl, wget, python3, or bash's /dev/tcp ------------------------------------------
# fetch <url path> <out> [first last]: the file, or bytes first..last of it, into <out>.
# Returns 0 when done, 2 when the server answered with an HTTP error, 1 when it was unreachable.
FETCHER=
pick_fetcher() {
	for f in curl wget python3 bash; do
		if has "$f"; then
			FETCHER=$f
			return 0
		fi
	done
	return 1
}

# fetch <url path> <out> [<first byte> <last byte>]: 0 done, 1 try again (unreachable, cut
# short), 2 HTTP error, 3 the server ignored the byte range (no use retrying)
fetch() {
	_url="http://$XC_MASTER:$XC_HTTP_PORT$1"
	_out=$2
	_range=
	[ $# -ge 4 ] && _range="$3-$4"
	case "$FETCHER" in
	curl)
		if [ -n "$_range" ]; then
			# a server that ignores Range answers 200 with the whole file: not a part of a chunk
			_code=$(curl -fsS --connect-timeout 10 --max-time 600 -r "$_range" -o "$_out" -w '%{http_code}' "$_url" 2>>"$LOG")
			case $? in 0) ;; 22) return 2 ;; *) return 1 ;; esac
			[ "$_code" = 206 ] && return 0
			rm -f "$_out"
			return 3
		fi
		curl -fsS --connect-timeout 10 --max-time 600 -o "$_out" "$_url" 2>>"$LOG"
		case $? in 0) return 0 ;; 22) return 2 ;; *) return 1 ;; esac
		;;
	wget)
		# wget refuses a Range header of ours that does not start at 0: --start-pos (wget 1.16+)
		# asks from the offset on and head keeps the range; one try, our loop retries
		if [ -n "$_range" ]; then
			wget -q -t 1 -T 30 -O - --start-pos="$3" "$_url" 2>>"$LOG" | head -c $(($4 - $3 + 1)) >"$_out"
			[ "$(size_of "$_out")" -eq $(($4 - $3 + 1)) ] && return 0
			return 1
		fi
		wget -q -t 1 -T 30 -O "$_out" "$_url" 2>>"$LOG"
		case $? in 0) return 0 ;; 8) return 2 ;; *) return 1 ;; esac
		;;
	python3)
		python3 - "$_url" "$_out" "$_range" <<'PY' 2>>"$LOG"
import sys, urllib.request, urllib.error
url, out, rng = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url, headers={"Range": "bytes=" + rng} if rng else {})
try:
    with urllib.request.urlopen(req, timeout=60) as r, open(out, "wb") as f:
        if rng and r.status != 206:
            sys.exit(3)
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            f.write(b)
except urllib.error.HTTPError as e:
    print(e, file=sys.stderr)
    sys.exit(2)
except Exception as e:
    print(e, file=sys.stderr)
    sys.exit(1)
PY
		;;
	bash)
		# HTTP/1.0 by hand: bash reads the header lines byte by byte, cat takes the body as is
		bash -c '
			cr=$(printf "\r")
			exec 3<>"/dev/tcp/$1/$2" || exit 1
			rh=
			[ -n "$5" ] && rh="Range: bytes=$5\r\n"
			printf "GET %s HTTP/1.0\r\nHost: %s\r\n%bConnection: close\r\n\r\n" "$3" "$1" "$rh" >&3
			IFS= read -r st <&3 || exit 1
			case "$st" in *" 206 "*) ;; *" 200 "*) [ -z "$5" ] || exit 3 ;; "") exit 1 ;; *) echo "HTTP: $st" >&2; exit 2 ;; esac
			while IFS= read -r l <&3; do l=${l%"$cr"}; [ -z "$l" ] && break; done
			cat <&3 >"$4"
		' xc-fetch "$XC_MASTER" "$XC_HTTP_PORT" "$1" "$_out" "$_range" 2>>"$LOG"
		;;
	*) return 1 ;;
	esac
}

# fetch_retry <url path> <out>: the whole (small) file, retrying while the server is unreachable
fetch_retry() {
	_n=0
	while :; do
		fetch "$1" "$2"
		case $? in 0) return 0 ;; 2) return 2 ;; esac
		_n=$((_n + 1))
		[ "$_n" -ge "${3:-60}" ] && return 1
		sleep 5
	done
}

size_of() { wc -c <"$1" | tr -d ' '; }

# chunk <i>: bytes i*CHUNK .. of the archive into $CHUNKS/<i>, resuming a partial download,
# checked against its sha256 when the image has sha256sum
fetch_chunk() {
	_i=$1
	_first=$((_i * XC_CHUNK_BYTES))
	_last=$((_first + XC_CHUNK_BYTES - 1))
	[ "$_last" -ge "$XC_ARCHIVE_BYTES" ] && _last=$((XC_ARCHIVE_BYTES - 1))
	_want=$((_last - _first + 1))
	_part=$CHUNKS/$_i.part
	_tries=0
	: >"$_part"
	while :; do
		_have=$(size_of "$_part")
		if [ "$_have" -lt "$_want" ]; then
			# what arrived before a drop is a prefix of the range asked for: keep it and ask for
			# the remainder (the chunk's sha256 is checked once it is complete)
			fetch "$XC_ARCHIVE" "$_part.more" $((_first + _have)) "$_last"
			if [ $? -eq 3 ]; then
				echo "the web server on $XC_MASTER:$XC_HTTP_PORT ignores byte ranges (answered 200, not 206): serve installdir with nginx or Apache (docs/clone.md)" >"$CHUNKS/why"
				return 1
			fi
			[ -f "$_part.more" ] && cat "$_part.more" >>"$_part"
			rm -f "$_part.more"
			_now=$(size_of "$_part")
			if [ "$_now" -gt "$_have" ]; then
				[ "$_now" -lt "$_want" ] && log "chunk $_i: cut short, resuming at byte $_now"
				continue
			fi
		elif [ "$_have" -eq "$_want" ]; then
			if [ -z "$SUMS_OK" ] || [ "$(sha256sum "$_part" | cut -d' ' -f1)" = "$(sed -n "$((_i + 1))p" "$XC_RUN/sums")" ]; then
				mv -f "$_part" "$CHUNKS/$_i"
				return 0
			fi
			log "chunk $_i: checksum mismatch, fetching it again"
			: >"$_part"
		else
			: >"$_part"
		fi
		_tries=$((_tries + 1))
		[ "$_tries" -ge 60 ] && return 1
		log "chunk $_i: retry $_tries"
		sleep $((_tries < 10 ? _tries : 10))
	done
}

# the whole archive on stdout, chunk by chunk; a background fetcher stays up to 2 chunks ahead
stream_archive() {
	rm -rf "$CHUNKS" && mkdir -p "$CHUNKS"
	(
		_i=0
		while [ "$_i" -lt "$XC_CHUNKS" ]; do
			# shellcheck disable=SC2010 # chunk files are named by their number only
			while [ "$(ls "$CHUNKS" | grep -c '^[0-9]*$')" -ge 2 ]; do sleep 0.2; done
			fetch_chunk "$_i" || {
				echo "$_i" >"$CHUNKS/failed"
				exit 1
			}
			_i=$((_i + 1))
		done
	) &
	_fetcher=$!
	_i=0
	while [ "$_i" -lt "$XC_CHUNKS" ]; do
		while [ ! -f "$CHUNKS/$_i" ]; do
			[ -f "$CHUNKS/failed" ] && return 1
			sleep 0.2
		done
		cat "$CHUNKS/$_i" || {
			kill "$_fetcher" 2>/dev/null
			return 1
		}
		rm -f "$CHUNKS/$_i"
		_i=$((_i + 1))
		status copying $((_i * 100 / XC_CHUNKS)) "chunk $_i of $XC_CHUNKS"
	done
	wait "$_fetcher" 2>/dev/null
	return 0
}

# the whole archive on stdout from one python3 process: XC_RANGES (default 4) byte ranges
# fetched in parallel over kept-alive connections straight into memory, each checked against
# its sha256 (hashlib, off the interpreter lock) and resumed or fetched again like fetch_chunk's,
# then written in order to the decompressor. No chunk files, no process per chunk, no polling:
# on a fast network the node's decompressor, not the download, sets the pace (docs/clone.md).
# Holds XC_RANGES + 1 chunk buffers in memory, reused. Exit 10: this python3 cannot run it (nothing
# was written; stream_archive takes over).
stream_ranges() {
	rm -rf "$CHUNKS" && mkdir -p "$CHUNKS"
	LOG=$LOG STATUS=$STATUS XC_JOB=${XC_JOB:-} XC_NODE=${XC_NODE:-} DISK=$DISK \
		python3 - "$XC_MASTER" "$XC_HTTP_PORT" "$XC_ARCHIVE" "$XC_ARCHIVE_BYTES" "$XC_CHUNK_BYTES" "${SUMS_OK:+$XC_RUN/sums}" "$CHUNKS" "${XC_RANGES:-4}" <<'PY' 2>>"$LOG"
import sys, os, time
try:
    import hashlib, http.client, threading
except Exception as e:
    print("stream_ranges: %s" % e, file=sys.stderr)
    sys.exit(10)
host, port, path, total, size, sums_file, chunks_dir, par = sys.argv[1:9]
port, total, size, par = int(port), int(total), int(size), max(1, int(par))
n = max(1, (total + size - 1) // size)
sums = [l.strip() for l in open(sums_file)] if sums_file else None
log_file, status_file = os.environ["LOG"], os.environ["STATUS"]
lock = threading.Condition()
ready, state = {}, {"next": 0, "written": 0, "failed": None}
# par + 1 buffers, reused: a fresh 32 MiB buffer per chunk costs 8,192 page faults and its
# zeroing, a third of this process's CPU on a fast network
pool = [bytearray(min(size, total)) for _ in range(min(par + 1, n))]

def log(msg):
    with open(log_file, "a") as f:
        f.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))

def status(done):
    # the format of clone.sh's status(): xcimg clone --status reads it over SSH
    pc = done * 100 // n
    msg = "chunk %d of %d" % (done, n)
    tmp = status_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("job=%s\nnode=%s\nstate=copying\npercent=%d\nmessage=%s\ndisk=%s\nupdated=%d\n" % (os.environ.get("XC_JOB", ""), os.environ.get("XC_NODE", ""), pc, msg, os.environ.get("DISK", ""), time.time()))
    os.replace(tmp, status_file)
    log("status copying %d%% %s" % (pc, msg))

class NoRanges(Exception):
    pass

def fail(i, why=None):
    with lock:
        if state["failed"] is None:
            state["failed"] = i
            with open(os.path.join(chunks_dir, "failed"), "w") as f:
                f.write("%d\n" % i)
            if why:
                with open(os.path.join(chunks_dir, "why"), "w") as f:
                    f.write(why + "\n")
        lock.notify_all()

def fetch_range(conn, first, last, view, got):
    # bytes first..last into view; got[0] counts what arrived, also when the connection drops
    conn.request("GET", path, headers={"Range": "bytes=%d-%d" % (first, last)})
    r = conn.getresponse()
    if r.status == 200:
        raise NoRanges()
    if r.status != 206:
        r.read()
        raise OSError("HTTP %d" % r.status)
    while got[0] < len(view):
        k = r.readinto(view[got[0]:])
        if not k:
            raise OSError("cut short")
        got[0] += k

def worker():
    conn = None
    while True:
        with lock:
            while state["failed"] is None and state["next"] < n and not pool:
                lock.wait()
            if state["failed"] is not None or state["next"] >= n:
                break
            i = state["next"]
            state["next"] += 1
            buf = pool.pop()
        first = i * size
        want = min(total, first + size) - first
        view = memoryview(buf)[:want]
        have, tries = 0, 0
        while True:
            if have < want:
                got = [0]
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(host, port, timeout=60)
                    fetch_range(conn, first + have, first + want - 1, view[have:], got)
                except NoRanges:
                    fail(i, "the web server on %s:%d ignores byte ranges (answered 200, not 206): serve installdir with nginx or Apache (docs/clone.md)" % (host, port))
                    return
                except (OSError, http.client.HTTPException) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if not got[0]:
                        log("chunk %d: %s" % (i, e))
                have += got[0]
                if got[0]:
                    if have < want:
                        log("chunk %d: cut short, resuming at byte %d" % (i, have))
                    continue
            elif sums is None or hashlib.sha256(view).hexdigest() == sums[i]:
                with lock:
                    ready[i] = (buf, want)
                    lock.notify_all()
                break
            else:
                log("chunk %d: checksum mismatch, fetching it again" % i)
                have = 0
            tries += 1
            if tries >= 60:
                fail(i)
                return
            log("chunk %d: retry %d" % (i, tries))
            time.sleep(min(tries, 10))
    if conn is not None:
        conn.close()

def guarded():
    try:
        worker()
    except Exception as e:
        fail(state["next"] - 1, "downloading failed: %r" % e)

if sums is not None and len(sums) < n:
    fail(len(sums), "the chunk list has %d sums for %d chunks" % (len(sums), n))
threads = [threading.Thread(target=guarded, daemon=True) for _ in range(min(par, n))]
for t in threads:
    t.start()
out = os.fdopen(1, "wb", buffering=0)
for i in range(n):
    with lock:
        while i not in ready and state["failed"] is None:
            lock.wait()
        if i not in ready:
            sys.exit(1)
        buf, want = ready.pop(i)
    view, off = memoryview(buf)[:want], 0
    while off < len(view):
        off += out.write(view[off:])
    del view
    with lock:
        state["written"] = i + 1
        pool.append(buf)
        lock.notify_all()
    status(i + 1)
sys.exit(0)
PY
}

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

copy_image() {
	status copying 0 "$XC_ARCHIVE ($XC_ARCHIVE_BYTES bytes in $XC_CHUNKS chunks)"
	SUMS_OK=
	if has sha256sum && fetch_retry "$XC_ARCHIVE.sha256" "$XC_RUN/sums" 12; then SUMS_OK=1; else log "no chunk checksums: chunks are checked by size only"; fi
	rm -f "$XC_RUN/rc.stream" "$XC_RUN/rc.unpack"
	{
		_rc=10
		if has python3 && [ "${XC_RANGES:-4}" -gt 0 ]; then
			stream_ranges
			_rc=$?
		fi
		if [ "$_rc" = 10 ]; then
			stream_archive
			_rc=$?
		fi
		echo "$_rc" >"$XC_RUN/rc.stream"
	} | {
		$XC_DECOMPRESS | tar -x -f - --numeric-owner -p --same-owner --xattrs --xattrs-include='*' --acls --warning=no-timestamp -C "$T" 2>>"$LOG"
		echo $? >"$XC_RUN/rc.unpack"
	}
	_s=$(cat "$XC_RUN/rc.stream" 2>/dev/null)
	_u=$(cat "$XC_RUN/rc.unpack" 2>/dev/null)
	[ "$_s" = 0 ] || fail "downloading the image from $XC_MASTER failed (chunk $(cat "$CHUNKS/failed" 2>/dev/null)): $(cat "$CHUNKS/why" 2>/dev/null || tail -n 2 "$LOG" | tr '\n' ' ')"
	[ "$_u" = 0 ] || fail "writing the image to the disk failed: $(tail -n 3 "$LOG" | tr '\n' ' ')"
	rm -rf "$CHUNKS"
}

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
	elif [ -n "$XC_GRUB_EFI" ]; then
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

# shellcheck disable=SC2120 # the positional parameters are each line's own, set with 'set --'
postscripts() {
	[ -n "$XC_POSTSCRIPTS" ] || return 0
	mkdir -p "$T/xcatpost"
	while IFS= read -r _line; do
		[ -n "$_line" ] || continue
		eval "set -- $_line"
		status postscripts "$*"
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
		if fetch_postscript "$1"; then printf '%s\n' "$_line" >>"$T/xcatpost/xcimg-postbootscripts.list"; fi
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
	(cd /xcatpost && exec "./$name" "$@") </dev/null >>"$LOG" 2>&1 || failed="$failed $name"
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
