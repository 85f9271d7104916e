#!/usr/bin/env bash
# The golden node of the end-to-end tests (capture, boot, clone): a Debian 12 disk image with a
# real GPT partition table
#   p1  1 MiB    BIOS boot partition (for GRUB on BIOS machines)
#   p2  64 MiB   EFI system partition, vfat, mounted on /boot/efi
#   p3  256 MiB  swap
#   p4  rest     ext4 root
# holding systemd, udev, OpenSSH (root logs in with .cache/golden/id_ed25519), networkd on
# DHCP, and Debian's cloud kernel with its initramfs. For `xcimg clone`, which installs a
# bootloader with the image's own tools, the image also has GRUB for BIOS and UEFI
# (grub-pc-bin, grub-efi-amd64-bin, grub2-common; none installed on this disk: the VM boots with
# qemu -kernel), efibootmgr, dosfstools (mkfs.vfat for the ESP), rsync (clone --update),
# getcap/getfattr (libcap2-bin, attr: the tests check capabilities and xattrs on clones) and an
# /etc/default/grub with a serial console, as a site's golden node would have. Loop partition devices do not exist on
# the build machines, so each filesystem is made in a partition-sized file (mkfs.ext4 -d
# copies the tree in) and written into the disk image at the offsets sfdisk chose.
#
# Output in .cache/golden/: disk.img (2.5 GiB, sparse), vmlinuz + initrd.img (for qemu
# -kernel), id_ed25519, golden.json (UUIDs, offsets, kernel version). The debootstrap result is
# cached in .cache/golden/rootfs (about 2 min the first time; the disk then builds in ~15 s).
# Boot it with test/helpers/golden-vm.ts (qemu -accel tcg -snapshot, SSH forwarded to 127.0.0.1).
#
#   scripts/golden-vm.sh           build what is missing
#   scripts/golden-vm.sh --force   rebuild the disk image (keeps the debootstrap cache)
set -euo pipefail
cd "$(dirname "$0")/.."
G="$PWD/.cache/golden"
RECIPE=4 # bump when the recipe below changes: the cached root tree is rebuilt
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT_UUID=6a1d3a5e-0c1b-4d2e-9f3a-7b5c4d3e2f10
SWAP_UUID=0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60
ESP_ID=A1B2C3D4
log() { printf 'golden-vm: %s\n' "$*" >&2; }

mkdir -p "$G"
[ -f "$G/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C xcimg-golden -f "$G/id_ed25519"

if [ "$(cat "$G/rootfs.stamp" 2>/dev/null)" != "$RECIPE" ]; then
  # zstd: an image that has it gets a zstd clone archive (rootimg.tar.zst), the path real images
  # take and several times faster to unpack under emulation than gzip, which
  # test/provmethods/sysclone/node-script.test.ts still covers
  log "debootstrap bookworm (minbase + systemd, udev, openssh-server, cloud kernel) from $MIRROR"
  rm -rf "$G/rootfs" "$G/disk.img"
  started=$(date +%s)
  debootstrap --variant=minbase \
    --include=systemd-sysv,udev,openssh-server,linux-image-cloud-amd64,initramfs-tools,fdisk,iproute2,kmod,procps,grub-pc-bin,grub-efi-amd64-bin,grub2-common,efibootmgr,dosfstools,rsync,libcap2-bin,attr,zstd,shim-signed,grub-efi-amd64-signed \
    bookworm "$G/rootfs" "$MIRROR" >"$G/debootstrap.log" 2>&1 || { tail -20 "$G/debootstrap.log" >&2; exit 1; }
  R="$G/rootfs"
  echo golden >"$R/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 golden\n' >"$R/etc/hosts"
  mkdir -p "$R/etc/systemd/network" "$R/boot/efi" "$R/root/.ssh"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$R/etc/systemd/network/80-dhcp.network"
  chroot "$R" systemctl enable systemd-networkd.service >/dev/null 2>&1
  cat >"$R/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
  cat >"$R/etc/fstab" <<EOF
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
UUID=${ESP_ID:0:4}-${ESP_ID:4:4} /boot/efi vfat umask=0077 0 2
UUID=$SWAP_UUID none swap sw 0 0
EOF
  rm -rf "$R/var/cache/apt/archives/"*.deb "$R/var/lib/apt/lists/"*
  echo "$RECIPE" >"$G/rootfs.stamp"
  log "root tree ready in $(($(date +%s) - started)) s ($(du -sh "$R" | cut -f1))"
fi

if [ "${1:-}" = "--force" ] || [ ! -f "$G/disk.img" ] || [ "$G/id_ed25519.pub" -nt "$G/disk.img" ]; then
  started=$(date +%s)
  R="$G/rootfs"
  install -m 0600 "$G/id_ed25519.pub" "$R/root/.ssh/authorized_keys"
  kver=$(basename "$(ls "$R"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
  cp "$R/boot/vmlinuz-$kver" "$G/vmlinuz"
  cp "$R/boot/initrd.img-$kver" "$G/initrd.img"
  tmp="$G/build"
  rm -rf "$tmp" && mkdir -p "$tmp"
  truncate -s 2560M "$tmp/disk.img"
  sfdisk -q "$tmp/disk.img" <<EOF
label: gpt
unit: sectors
first-lba: 2048
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios
start=4096, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=135168, size=524288, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name=swap
start=659456, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
EOF
  part() { sfdisk -J "$tmp/disk.img" | awk -v n="$1" -v f="$2" '
    /"node"/ { i++ } i == n && $0 ~ "\"" f "\"" { gsub(/[^0-9]/, "", $2); print $2; exit }' FS=':'; }
  esp_start=$(part 2 start); esp_size=$(part 2 size)
  swap_start=$(part 3 start); swap_size=$(part 3 size)
  root_start=$(part 4 start); root_size=$(part 4 size)
  truncate -s $((esp_size * 512)) "$tmp/esp.img"
  mkfs.vfat -F 32 -i "$ESP_ID" -n ESP "$tmp/esp.img" >/dev/null
  truncate -s $((swap_size * 512)) "$tmp/swap.img"
  mkswap -q -U "$SWAP_UUID" -L golden-swap "$tmp/swap.img"
  truncate -s $((root_size * 512)) "$tmp/root.img"
  mkfs.ext4 -q -F -d "$R" -U "$ROOT_UUID" -L golden-root "$tmp/root.img"
  dd if="$tmp/esp.img" of="$tmp/disk.img" bs=512 seek="$esp_start" conv=notrunc,sparse status=none
  dd if="$tmp/swap.img" of="$tmp/disk.img" bs=512 seek="$swap_start" conv=notrunc,sparse status=none
  dd if="$tmp/root.img" of="$tmp/disk.img" bs=512 seek="$root_start" conv=notrunc,sparse status=none
  cat >"$G/golden.json" <<EOF
{
  "kernelVersion": "$kver",
  "rootUuid": "$ROOT_UUID",
  "swapUuid": "$SWAP_UUID",
  "espUuid": "${ESP_ID:0:4}-${ESP_ID:4:4}",
  "partitions": { "esp": [$esp_start, $esp_size], "swap": [$swap_start, $swap_size], "root": [$root_start, $root_size] },
  "cmdline": "root=UUID=$ROOT_UUID ro console=ttyS0 net.ifnames=0"
}
EOF
  mv "$tmp/disk.img" "$G/disk.img"
  rm -rf "$tmp"
  log "disk image ready in $(($(date +%s) - started)) s: $G/disk.img (kernel $kver)"
fi
