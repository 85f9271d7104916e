#!/usr/bin/env bash
# The README's first command. Builds xcimg and runs the image lifecycle end to end in a
# throwaway site under .cache/demo, on built-in defaults: define an image and nodes, put a
# golden root in place, pack it, write the nodes' boot files, and PXE-boot one node in qemu
# from those files, served by a plain static web server (no xcimg process at boot).
# The golden root is a small busybox tree with Debian's cloud kernel until capture lands;
# then this script captures it from a node over SSH instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/fixtures.sh
node_modules/.bin/bun scripts/build.ts --host
X="$PWD/dist/xcimg"
D="$PWD/.cache/demo"
PORT=${DEMO_HTTP_PORT:-18080}
rm -rf "$D" && mkdir -p "$D"
cat > "$D/xcimg.toml" <<TOML
installdir = "$D/install"
tftpdir = "$D/tftpboot"
master = "10.0.2.2"
[db]
path = "$D/xcimg.db"
[http]
port = $PORT
TOML
export XCIMG_CONFIG="$D/xcimg.toml"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
IMG=demo-x86_64-netboot-compute
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

step "define an image and 4 nodes"
$X image set $IMG provmethod=netboot osvers=debian12 osarch=x86_64 profile=compute
$X node set 'cn[01-04]' groups=compute,all netboot=xnba arch=x86_64 serialport=0 serialspeed=115200
$X node set cn01 mac=52:54:00:12:34:01 ip=10.0.2.15
$X node list compute
$X image show $IMG

step "a golden root where capture puts it: <installdir>/netboot/debian12/x86_64/compute/rootimg"
bash scripts/mkroot-busybox.sh "$D/install/netboot/debian12/x86_64/compute/rootimg"

step "pack it (xCAT packimage): cpio, gzip on all cores, kernel and boot initrd beside it"
$X pack $IMG
ls -l "$D/install/netboot/debian12/x86_64/compute"

step "write cn01's boot files (xCAT nodeset): iPXE script, image, identity overlay"
$X boot cn01 -o $IMG
cat "$D/tftpboot/xcat/xnba/nodes/cn01"

step "serve installdir and tftpdir over HTTP, as nginx would (docs/boot.md)"
node_modules/.bin/bun scripts/serve-static.ts "$PORT" "/tftpboot=$D/tftpboot" "/install=$D/install" &
PIDS+=($!)
sleep 0.5

step "PXE-boot cn01 in qemu (TCG): iPXE → kernel + image + overlay → tmpfs root → busybox init"
echo "qemu-system-x86_64 -accel tcg -m 1024 -boot n -netdev user,id=n0,tftp=$D/tftpboot,bootfile=xcat/xnba/nodes/cn01 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01 -display none -serial stdio"
qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -boot n -no-reboot \
  -netdev "user,id=n0,tftp=$D/tftpboot,bootfile=xcat/xnba/nodes/cn01" \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01 \
  -display none -serial stdio -monitor none </dev/null >"$D/console.log" 2>&1 &
PIDS+=($!)
start=$SECONDS
until grep -q 'xcimg-node:' "$D/console.log" 2>/dev/null; do
  if [ $((SECONDS - start)) -gt 150 ]; then
    tail -40 "$D/console.log"
    echo "demo: the node did not reach userspace in 150 s" >&2
    exit 1
  fi
  sleep 0.5
done
tr -d '\r' <"$D/console.log" | grep -E '^(iPXE|http|xcimg|udhcpc)|xcimg-node|Run /init' | sed 's/^/  console| /'
printf '\n\033[1mcn01 is up: its own hostname, root on tmpfs, address from DHCP — %d s after power-on.\033[0m\n' $((SECONDS - start))
