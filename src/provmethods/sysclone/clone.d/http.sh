# shellcheck shell=sh
# xcimg clone, node side — fetching from the management node: the plan's files and the image in checked byte ranges.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

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
