#!/usr/bin/env bash
# A Debian 12 golden root for the boot e2e tests, as capture would leave it: debootstrap
# minbase with systemd, udev, OpenSSH and iproute2, the Debian cloud kernel from
# .cache/fixtures in /boot with its virtio modules, and no SSH host keys (a captured image must
# not carry the golden node's). Built once (~1 min, needs the Debian mirror), cached as
# .cache/fixtures/debian-root.tar; later runs only extract it.
# Usage: scripts/mkroot-debian.sh <rootdir>
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:?usage: mkroot-debian.sh <rootdir>}
F=.cache/fixtures
T=$F/debian-root.tar
[ -f "$F/vmlinuz" ] || bash scripts/fixtures.sh
if [ ! -f "$T" ]; then
  ver=$(cat "$F/kernel-version")
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "mkroot-debian: debootstrap bookworm (once; cached in $T)" >&2
  debootstrap --variant=minbase --include=systemd-sysv,udev,openssh-server,iproute2,kmod,procps \
    bookworm "$tmp/root" http://deb.debian.org/debian >"$tmp/log" 2>&1 || { tail -20 "$tmp/log" >&2; exit 1; }
  cp "$F/vmlinuz" "$tmp/root/boot/vmlinuz-$ver"
  for m in net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/virtio; do
    mkdir -p "$tmp/root/lib/modules/$ver/kernel/$(dirname "$m")"
    cp -a "$F/modules/$ver/kernel/$m" "$tmp/root/lib/modules/$ver/kernel/$m"
  done
  cp "$F/modules/$ver/modules.builtin"* "$F/modules/$ver/modules.order" "$tmp/root/lib/modules/$ver/"
  depmod -b "$tmp/root" "$ver"
  rm -f "$tmp"/root/etc/ssh/ssh_host_*
  echo golden >"$tmp/root/etc/hostname"
  rm -rf "$tmp"/root/var/cache/apt/archives/*.deb "$tmp"/root/var/lib/apt/lists/*
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$tmp/root" -cf "$T.tmp" . && mv "$T.tmp" "$T"
fi
rm -rf "$R" && mkdir -p "$R"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$R" -xpf "$T"
echo "mkroot-debian: $R ($(du -sh "$R" | cut -f1))" >&2
