#!/usr/bin/env bash
# The README's first command. Builds xcimg and runs the image lifecycle end to end in a
# throwaway site under .cache/demo, on built-in defaults: define an image and nodes, put a
# golden root in place, pack it, write the nodes' boot files, and PXE-boot one node in qemu
# from those files, served by a plain static web server (no xcimg process at boot).
# The golden node is a small busybox root with Debian's cloud kernel, captured over SSH from
# an OpenSSH server the demo starts on 127.0.0.1 (its own keys and config, in a private
# mount namespace; nothing system-wide changes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/fixtures.sh
node_modules/.bin/bun scripts/build.ts --host
X="$PWD/dist/xcimg"
D="$PWD/.cache/demo"
PORT=${DEMO_HTTP_PORT:-18080}
SSHPORT=${DEMO_SSH_PORT:-18022}
rm -rf "$D" && mkdir -p "$D/ssh"
cat > "$D/xcimg.toml" <<TOML
installdir = "$D/install"
tftpdir = "$D/tftpboot"
master = "10.0.2.2"
[db]
path = "$D/xcimg.db"
[http]
port = $PORT
[ssh]
identity = "$D/ssh/id_ed25519"
known_hosts = "$D/ssh/known_hosts"
port = $SSHPORT
TOML
export XCIMG_CONFIG="$D/xcimg.toml"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
IMG=demo-x86_64-netboot-compute
PIDS=()
# shellcheck disable=SC2154 # p is the trap's own loop variable
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

step "a golden node: a busybox root served by sshd on 127.0.0.1:$SSHPORT"
bash scripts/mkroot-busybox.sh "$D/golden"
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' >"$D/golden/etc/os-release"
ssh-keygen -q -t ed25519 -N '' -f "$D/ssh/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$D/ssh/id_ed25519"
cp "$D/ssh/id_ed25519.pub" "$D/ssh/authorized_keys"
cat >"$D/ssh/sshd_config" <<SSHD
Port $SSHPORT
ListenAddress 127.0.0.1
HostKey $D/ssh/host_key
AuthorizedKeysFile $D/ssh/authorized_keys
PidFile $D/ssh/sshd.pid
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
LogLevel ERROR
SSHD
unshare -m --propagation private /bin/sh -c "mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f $D/ssh/sshd_config" 2>"$D/ssh/sshd.log" &
PIDS+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$SSHPORT) 2>/dev/null && break; sleep 0.1; done

step "define the golden node and 4 compute nodes"
$X node set golden ip=127.0.0.1 groups=golden
$X node set 'cn[01-04]' groups=compute,all netboot=xnba arch=x86_64 serialport=0 serialspeed=115200
$X node set cn01 mac=52:54:00:12:34:01 ip=10.0.2.15
$X node list all

step "capture it over SSH into an image (xCAT imgcapture -t diskless)"
$X capture golden -t diskless -o $IMG --rootdir "$D/golden" --accept-new-hostkey
$X image show $IMG

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
