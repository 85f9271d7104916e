#!/usr/bin/env bash
# The README's test command: set up a fresh Debian machine if needed, build both binaries,
# typecheck, lint, then run every test (unit, compiled-binary, sshd and qemu suites).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/fixtures.sh
B=node_modules/.bin
$B/bun scripts/build.ts
$B/tsc --noEmit -p .
$B/biome lint src test scripts
$B/bun test --timeout 60000 "$@"
