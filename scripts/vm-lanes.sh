#!/usr/bin/env bash
# The VM suites on every core: each test/e2e file is its own `bun test` process, at most one
# per core at a time, longest first, so the two cores of a CI machine each boot a qemu guest
# (TCG runs one guest CPU per host thread) instead of one core idling for 28 minutes. Each
# file's output is printed whole when it ends; the exit code is non-zero if any file failed,
# and the failed files are named at the end. Tests share nothing that would collide: network
# namespaces are named by pid, ports come from freePort(), golden disks boot with snapshot=on.
#   scripts/vm-lanes.sh [FILE...]     default: every test/e2e/*.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
B=node_modules/.bin
lanes=${XCIMG_VM_LANES:-$(nproc)}
# longest first (minutes on 2 cores, measured in CI); files not listed run after these
order=(clone-vm genimage-debian-boot install-preseed capture-vm statelite-qemu secureboot-qemu
  dhcp-uefi-boot dhcp-kea-boot sn-qemu dhcp-dnsmasq-boot loaders-qemu netboot-qemu)
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=()
  for n in "${order[@]}"; do [ -f "test/e2e/$n.test.ts" ] && files+=("test/e2e/$n.test.ts"); done
  for f in test/e2e/*.test.ts; do
    case " ${files[*]} " in *" $f "*) ;; *) files+=("$f") ;; esac
  done
fi
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export B logs
printf '%s\n' "${files[@]}" | xargs -P "$lanes" -I{} bash -c '
  f=$1; log="$logs/$(basename "$f").log"; start=$SECONDS
  if "$B/bun" test --timeout 60000 "$f" >"$log" 2>&1; then rc=0; else rc=$?; touch "$log.failed"; fi
  { flock 9; cat "$log"; echo "== $f: exit $rc after $((SECONDS - start)) s"; } 9>"$logs/.print"
  exit 0
' _ {}
failed=$(find "$logs" -name '*.failed' -printf '%f\n' | sed 's/\.log\.failed$//' | sort)
if [ -n "$failed" ]; then
  printf 'VM suites failed: %s\n' "$failed" | tr '\n' ' ' >&2
  echo >&2
  exit 1
fi
