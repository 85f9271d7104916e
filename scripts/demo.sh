#!/usr/bin/env bash
# The README's first command. Builds xcimg and runs the image lifecycle end to end in a
# throwaway site under .cache/demo, on built-in defaults. Each lifecycle step is added here
# as it lands; today: definitions (images, nodes, tables).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
node_modules/.bin/bun scripts/build.ts --host
X="$PWD/dist/xcimg"
D="$PWD/.cache/demo"
rm -rf "$D" && mkdir -p "$D"
cat > "$D/xcimg.toml" <<TOML
installdir = "$D/install"
tftpdir = "$D/tftpboot"
master = "10.0.2.2"
[db]
path = "$D/xcimg.db"
TOML
export XCIMG_CONFIG="$D/xcimg.toml"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "define an image and 4 nodes"
$X image set demo-x86_64-netboot-compute provmethod=netboot osvers=debian12 osarch=x86_64 profile=compute
$X node set 'cn[01-04]' groups=compute,all netboot=xnba arch=x86_64
$X node set cn01 mac=52:54:00:12:34:01 ip=10.0.2.15
$X node list compute
$X image show demo-x86_64-netboot-compute
step "xCAT-compatible tables"
$X table dump nodelist
