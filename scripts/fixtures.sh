#!/usr/bin/env bash
# Test and demo fixtures that come from Debian's archive rather than from this repo: a
# kernel for qemu boots. Cached under .cache/fixtures (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
F=.cache/fixtures
mkdir -p "$F"
if [ ! -f "$F/vmlinuz" ]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$pkg" ] || { echo "fixtures: cannot find Debian's cloud kernel package (apt-get update?)" >&2; exit 1; }
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "fixtures: apt-get download $pkg failed" >&2; exit 1; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  cp "$tmp"/x/boot/vmlinuz-* "$F/vmlinuz"
  ver=$(basename "$tmp"/x/boot/vmlinuz-* | sed 's/^vmlinuz-//')
  echo "$ver" > "$F/kernel-version"
  rm -rf "$F/modules" && mkdir -p "$F/modules" && cp -a "$tmp/x/lib/modules/$ver" "$F/modules/"
  rm -rf "$tmp"
  echo "fixtures: kernel $ver" >&2
fi
# debian-installer's netboot kernel and initrd (the install provmethod's qemu test boots them)
if [ ! -f "$F/d-i/linux" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download debian-installer-12-netboot-amd64 >/dev/null 2>&1) || { echo "fixtures: apt-get download debian-installer-12-netboot-amd64 failed" >&2; exit 1; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  src=$(dirname "$(find "$tmp/x" -path '*/text/debian-installer/amd64/linux' | head -1)")
  [ -f "$src/linux" ] && [ -f "$src/initrd.gz" ] || { echo "fixtures: no text netboot kernel/initrd in the package" >&2; exit 1; }
  mkdir -p "$F/d-i" && cp "$src/linux" "$src/initrd.gz" "$F/d-i/"
  dpkg-deb -f "$tmp"/*.deb Version > "$F/d-i/version"
  rm -rf "$tmp"
  echo "fixtures: debian-installer netboot $(cat "$F/d-i/version")" >&2
fi
# Secure Boot: Debian's shim (signed by Microsoft's UEFI CA) and netboot GRUB (signed by
# Debian), extracted rather than installed so nothing touches the host's own boot setup
# (test/e2e/secureboot-qemu.test.ts). Outside fixtures/, which worktrees share read-only.
SB=.cache/secureboot
if [ ! -f "$SB/grubx64.efi" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download shim-signed grub-efi-amd64-signed >/dev/null 2>&1) || { echo "fixtures: apt-get download shim-signed grub-efi-amd64-signed failed" >&2; exit 1; }
  for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
  mkdir -p "$SB"
  cp "$tmp/x/usr/lib/shim/shimx64.efi.signed" "$SB/shimx64.efi"
  cp "$tmp/x/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed" "$SB/grubx64.efi"
  # shellcheck disable=SC2016 # dpkg-deb expands ${Package}, not the shell
  for d in "$tmp"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"; done > "$SB/versions"
  rm -rf "$tmp"
  echo "fixtures: secure boot $(paste -sd';' "$SB/versions")" >&2
fi
