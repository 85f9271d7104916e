#!/usr/bin/env bash
# Install what xcimg's build, tests and demo need on a fresh Debian 12 machine (idempotent:
# a second run installs nothing). Needs root or sudo. Node.js + npm must already be there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Tools the tests drive for real: an OpenSSH server for capture, GNU tar/cpio and compressors
# for pack/export, qemu + iPXE/OVMF/pxelinux/GRUB for boot tests, filesystem tools for clone,
# a user-space NFS server (nfs-ganesha, run on 127.0.0.1 only by the statelite boot tests),
# the three DHCP servers xcimg dhcp writes for (their checkers validate every rendering; the
# DHCP boot test runs dnsmasq and nginx inside its own network namespace), iPXE's loaders,
# genimage's package managers (mmdebstrap for Debian trees; dnf, rpm and createrepo_c for EL
# trees), and a PostgreSQL server (each db test starts its own on 127.0.0.1; the package's
# cluster stays off).
PKGS=(
  openssh-server openssh-client tar cpio gzip pigz zstd xz-utils rsync attr acl libcap2-bin
  squashfs-tools busybox-static kmod e2fsprogs dosfstools xfsprogs fdisk gdisk parted lvm2
  qemu-system-x86 qemu-utils ipxe-qemu ovmf grub-common grub-efi-amd64-bin grub-pc-bin pxelinux syslinux-common
  qemu-user libc6-arm64-cross iproute2 debootstrap hyperfine ca-certificates
  debconf libxml2-utils curl wget dash shellcheck
  zypper xorriso libarchive-tools
  nfs-ganesha nfs-ganesha-vfs
  dnsmasq-base kea-dhcp4-server isc-dhcp-server nginx-light ipxe
  mmdebstrap debian-archive-keyring dnf rpm createrepo-c gnupg
  postgresql postgresql-client
  # the Secure Boot chain xcimg publishes for dhcpuefiloader=grub2 (src/core/dhcp/loaders.ts)
  shim-signed grub-efi-amd64-signed
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the tests start their own ganesha on 127.0.0.1; the package's system service stays off
  if [[ " ${missing[*]} " == *" nfs-ganesha "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now nfs-ganesha >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" postgresql "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
  # likewise the DHCP servers and nginx: a packaged DHCP server answering on the machine's
  # network would be a hazard; the tests start their own, inside a namespace (dnsmasq-base
  # ships no service at all)
  if [ -d /run/systemd/system ]; then
    for svc in kea-dhcp4-server isc-dhcp-server nginx; do
      $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
  fi
fi

# npm packages, Bun among them (devDependency: a fresh machine needs only Node/npm).
# `npm install` rather than `npm ci`: npm 11 rejects a lockfile it just wrote when optional
# platform packages (Biome's) are left out of it (npm/cli#9846); install still honours the
# locked versions.
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund >&2
fi
