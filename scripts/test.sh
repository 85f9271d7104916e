#!/usr/bin/env bash
# The README's test command: set up a fresh Debian machine if needed, build both binaries,
# then the fast lane (typecheck, lint, dead code, shellcheck, every test that boots no VM), then the VM
# suites (test/e2e: real qemu boots). A red fast lane stops before the slow suites start.
#   scripts/test.sh            everything CI runs
#   scripts/test.sh --fast     the fast lane only (a developer's loop)
#   scripts/test.sh FILE...    setup, build, then only those test files
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi
bash scripts/setup-debian.sh
bash scripts/fixtures.sh
B=node_modules/.bin
$B/bun scripts/build.ts
if [ $# -gt 0 ]; then
  exec $B/bun test --timeout 60000 "$@"
fi

lane() { printf '\n== %s\n' "$*" >&2; }
lane "fast lane: typecheck, lint, dead code, shellcheck, tests without VMs"
$B/tsc --noEmit -p .
$B/biome ci src test scripts
# dead code: unused files, exports and dependencies (entry points in knip.json)
$B/knip
# every shell script the project ships or runs, node-side ones included (warnings and errors)
git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck -S warning
mapfile -t unit < <(find test -mindepth 1 -maxdepth 1 -type d ! -name e2e ! -name helpers ! -name fixtures | sort)
$B/bun test --timeout 60000 "${unit[@]}"
[ "$fast" -eq 1 ] && exit 0

lane "VM suites: qemu boots (test/e2e), one file per core at a time"
bash scripts/vm-lanes.sh
