#!/usr/bin/env bash
# Runs a test binary as an unprivileged user (the integration tier's second pass).
# As root: copies the airlock binary, the helpers and the test binary into a world-readable temp dir and
# runs the test with setpriv as uid/gid 65534 (no supplementary groups, no capabilities).
# As a non-root user already: runs the test directly.
set -euo pipefail
test_bin=$1; shift
if [ "$(id -u)" != 0 ]; then exec "$test_bin" "$@"; fi
build_dir=$(cd "$(dirname "$test_bin")/.." && pwd)
stage=$(mktemp -d /tmp/airlock-user-tests.XXXXXX)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
cp "$test_bin" "$stage/"
cp "$build_dir/src/cli/airlock" "$stage/airlock"
find "$build_dir/src" -maxdepth 2 -type f -name 'airlock-*' -perm -u+x -exec cp {} "$stage/" \;
cp -r "$build_dir/tests/helpers" "$stage/helpers"
src_dir=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$src_dir/rules" ] && cp -r "$src_dir/rules" "$stage/rules" && export AIRLOCK_RULES_DIR="$stage/rules"
chmod -R a+rX "$stage"
mkdir -m 1777 "$stage/tmp"
export AIRLOCK_BIN="$stage/airlock" AIRLOCK_HELPER_DIR="$stage/helpers" TMPDIR="$stage/tmp" HOME="$stage/tmp"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
  "$stage/$(basename "$test_bin")" "$@"
