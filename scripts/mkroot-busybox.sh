#!/usr/bin/env bash
# A small golden root tree for tests and the demo: Debian's static busybox, the Debian cloud
# kernel from .cache/fixtures in /boot with its modules (the network ones by default; all with
# MODULES=all; MODULES=nfs adds the NFS client, what a statelite initrd takes) in /lib/modules, and a busybox init that brings eth0 up with udhcpc via ifup
# and prints one line tests look for:
#   xcimg-node: hostname=<name> root=<fstype> ip=<addr>
# Usage: scripts/mkroot-busybox.sh <rootdir>
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:?usage: mkroot-busybox.sh <rootdir>}
F=.cache/fixtures
[ -f "$F/vmlinuz" ] || bash scripts/fixtures.sh
BB=$(command -v busybox)
# a dynamic busybox names its ELF interpreter near the start of the file
if head -c 4096 "$(readlink -f "$BB")" | grep -aq 'ld-linux'; then echo "mkroot: $BB is not static (install busybox-static)" >&2; exit 1; fi
ver=$(cat "$F/kernel-version")

rm -rf "$R" && mkdir -p "$R"
cd "$R"
mkdir -p bin sbin usr/bin usr/sbin etc/init.d etc/network/if-pre-up.d etc/network/if-up.d etc/network/if-down.d etc/network/if-post-down.d proc sys dev tmp root run var/run boot lib/modules etc/udhcpc
chmod 1777 tmp && chmod 700 root
cp "$BB" bin/busybox
for a in $(bin/busybox --list-full); do
  [ -e "$a" ] || ln -s /bin/busybox "$a"
done
cp "$OLDPWD/$F/vmlinuz" "boot/vmlinuz-$ver"
if [ "${MODULES:-net}" = all ]; then
  cp -a "$OLDPWD/$F/modules/$ver" lib/modules/
else
  # virtio (the NIC tests and the demo boot with) is modular in the cloud kernel
  extra=
  [ "${MODULES:-net}" = nfs ] && extra="fs/nfs fs/nfs_common fs/lockd fs/netfs fs/fscache net/sunrpc net/dns_resolver"
  for m in net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/virtio $extra; do
    mkdir -p "lib/modules/$ver/kernel/$(dirname "$m")"
    cp -a "$OLDPWD/$F/modules/$ver/kernel/$m" "lib/modules/$ver/kernel/$m"
  done
  cp "$OLDPWD/$F/modules/$ver/modules.builtin"* "$OLDPWD/$F/modules/$ver/modules.order" "lib/modules/$ver/"
fi
depmod -b "$PWD" "$ver"

cat > etc/passwd <<'X'
root:x:0:0:root:/root:/bin/sh
X
cat > etc/group <<'X'
root:x:0:
X
echo golden > etc/hostname
cat > etc/inittab <<'X'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
X
cat > etc/init.d/rcS <<'X'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
[ -s /etc/hostname ] && hostname -F /etc/hostname
for m in virtio_pci virtio_net; do modprobe "$m" || echo "rcS: modprobe $m failed"; done
[ -f /etc/network/interfaces ] && ifup -a
root=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)
ip=$(ip -4 addr show 2>/dev/null | awk '/inet / && $2 !~ /^127/ { print $2; exit }')
echo "xcimg-node: hostname=$(hostname) root=$root ip=${ip:-none}"
X
chmod 755 etc/init.d/rcS
cat > etc/udhcpc/default.script <<'X'
#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/${mask:-24}" dev "$interface"
  [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
  [ -n "$dns" ] && for d in $dns; do echo "nameserver $d"; done > /etc/resolv.conf
  ;;
esac
exit 0
X
chmod 755 etc/udhcpc/default.script
echo "mkroot: $R ($(du -sh . | cut -f1), kernel $ver)" >&2
