#!/bin/sh
# xcimg-install-firstboot.service on an installed node (xCAT's xcatpostinit1 without xcatd),
# written by <node>+post (post-install.sh). At the first boot it runs the postbootscripts with
# xcimg's runner, after the postscripts' results the install kept; at every boot it puts the
# final status back into /run/xcimg, where `xcimg node status` reads it over SSH.
KEEP=/var/lib/xcimg
RUN=/run/xcimg
mkdir -p "$RUN"
for f in postscripts.status postscripts.rc; do
	[ -f "$KEEP/$f" ] && cp "$KEEP/$f" "$RUN/$f"
done
[ -f "$KEEP/postbootscripts.done" ] && exit 0
/bin/sh /etc/xcimg/postscripts.sh postboot
rc=$?
for f in postscripts.status postscripts.rc; do
	[ -f "$RUN/$f" ] && cp "$RUN/$f" "$KEEP/$f"
done
: >"$KEEP/postbootscripts.done"
exit "$rc"
