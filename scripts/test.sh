#!/usr/bin/env bash
# Builds airlock and runs the whole test suite (unit, integration and escape tiers as root and as an
# unprivileged user, scan and sigma tests, fuzz corpus replays), then a bounded sanitizer build of the
# unit tests. Warnings are errors here (AIRLOCK_WERROR=ON; users build without it by default).
# In CI (CI=true) a skipped browser, Postfix or user-tier test fails the run (check-required-tests.py).
# Usage: scripts/test.sh [--quick]   (--quick skips the sanitizer and fuzz passes)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_BUILD_TESTS=ON -DAIRLOCK_WERROR=ON -DAIRLOCK_DEBUG_INFO=OFF >/dev/null
cmake --build build -j"$jobs"
rc=0
junit=$PWD/build/ctest-junit.xml
rm -f "$junit"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900 --output-junit "$junit" || rc=$?
if [ -f "$junit" ]; then
  scripts/check-required-tests.py build "$junit" || rc=1
else
  echo "scripts/test.sh: ctest wrote no $junit" >&2; rc=1
fi
[ $rc = 0 ] || exit $rc
if [ $quick = 0 ] && [ -x scripts/test-sanitizers.sh ]; then
  scripts/test-sanitizers.sh
fi
