#!/usr/bin/env bash
# Builds airlock and runs the whole test suite (unit, integration and escape tiers as root and as an
# unprivileged user, scan and sigma tests, fuzz corpus replays), then a bounded sanitizer and fuzzing
# pass (scripts/test-sanitizers.sh; built while the suite runs). Warnings are errors here (AIRLOCK_WERROR=ON; users build without it by default).
# In CI (CI=true) a skipped browser, Postfix or user-tier test fails the run (check-required-tests.py).
# Usage: scripts/test.sh [--quick]   (--quick skips the sanitizer and fuzz passes)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
# Where the sanitizer pass will run the libFuzzer targets (clang 16), they replay every seed under ASan
# and UBSan: the plain g++ replays (fuzz.replay.*, ~40 more compiles) are not built here then.
replay=ON
if [ $quick = 0 ] && [ -x scripts/test-sanitizers.sh ] && command -v clang++-16 >/dev/null; then replay=OFF; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_BUILD_TESTS=ON -DAIRLOCK_WERROR=ON -DAIRLOCK_DEBUG_INFO=OFF \
  -DAIRLOCK_FUZZ_REPLAY=$replay >/dev/null
cmake --build build -j"$jobs"
rc=0
junit=$PWD/build/ctest-junit.xml
rm -f "$junit"
# The sanitizer and fuzzer builds run beside the suite, below its priority: the tests mostly wait
# (namespaces, pools, mail), and the CPU they leave builds the next pass (docs/PERFORMANCE.md "CI time").
san_pid=
if [ $quick = 0 ] && [ -x scripts/test-sanitizers.sh ]; then
  setsid nice -n 10 scripts/test-sanitizers.sh build > build/sanitizer-build.log 2>&1 &
  san_pid=$!  # a session (and process group) of its own: stopped whole if the suite fails
  trap '[ -z "$san_pid" ] || kill -- -"$san_pid" 2>/dev/null || true' EXIT
fi
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900 --output-junit "$junit" || rc=$?
if [ -f "$junit" ]; then
  scripts/check-required-tests.py build "$junit" || rc=1
else
  echo "scripts/test.sh: ctest wrote no $junit" >&2; rc=1
fi
[ $rc = 0 ] || exit $rc
if [ -n "$san_pid" ]; then
  if ! wait "$san_pid"; then
    san_pid=
    echo "scripts/test.sh: the sanitizer build failed (build/sanitizer-build.log):" >&2
    tail -40 build/sanitizer-build.log >&2
    exit 1
  fi
  san_pid=
  scripts/test-sanitizers.sh run
fi
