# shellcheck shell=sh
# xcimg clone, node side — copy: the image's archive streamed into GNU tar on the new filesystems.
# Sourced by ../clone.sh; node-script.ts inlines it there for the node (docs/clone.md).

copy_image() {
	status copying 0 "$XC_ARCHIVE ($XC_ARCHIVE_BYTES bytes in $XC_CHUNKS chunks)"
	SUMS_OK=
	# shellcheck disable=SC2034 # SUMS_OK is read by stream_ranges and stream_archive (http.sh)
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
