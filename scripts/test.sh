#!/usr/bin/env bash
# Builds airlock and runs the whole test suite (unit, integration and escape tiers as root and as an
# unprivileged user, scan and sigma tests), then a bounded sanitizer build of the unit tests.
# Usage: scripts/test.sh [--quick]   (--quick skips the sanitizer and fuzz passes)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900
if [ $quick = 0 ] && [ -x scripts/test-sanitizers.sh ]; then
  scripts/test-sanitizers.sh
fi
