#!/usr/bin/env bash
# Runs scan_engine_tests (a gtest filter) as an unprivileged user, for the tests that start sandboxes
# (the sandboxed 7zz). As root: stages the test binary and the airlock binary in a world-readable temp
# dir and runs them with setpriv as uid/gid 65534 without capabilities. As a non-root user: runs directly.
# Usage: run_as_user.sh TEST_BIN AIRLOCK_BIN GTEST_ARGS...
set -euo pipefail
test_bin=$1 airlock=$2; shift 2
if [ "$(id -u)" != 0 ]; then AIRLOCK_BIN=$airlock exec "$test_bin" "$@"; fi
stage=$(mktemp -d /tmp/airlock-scan-user.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$test_bin" "$airlock" "$stage/"
# airlock-scan too (the CLI tests run it: $AIRLOCK_SCAN_BIN), from beside the airlock binary's module.
scan_bin=$(dirname "$airlock")/../scan/airlock-scan
[ -x "$scan_bin" ] && cp "$scan_bin" "$stage/"
mkdir -m 1777 "$stage/tmp"
chmod -R a+rX "$stage"
AIRLOCK_BIN="$stage/$(basename "$airlock")" AIRLOCK_SCAN_BIN="$stage/airlock-scan" TMPDIR="$stage/tmp" HOME="$stage/tmp" \
  setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
  "$stage/$(basename "$test_bin")" "$@"
