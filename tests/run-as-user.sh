#!/usr/bin/env bash
# Runs a test binary as an unprivileged user (the integration tier's second pass).
# As root: runs the test from a world-readable copy of the build (the airlock binary, its airlock-*
# siblings, the helpers, the rules and the test binary) with setpriv as uid/gid 65534 (no
# supplementary groups, no capabilities), with a private TMPDIR/HOME removed afterwards.
# As a non-root user already: runs the test directly.
#   run-as-user.sh TEST_BIN [ARGS...]                 stage a fresh copy for this one run
#   run-as-user.sh --stage STAGE TEST_BIN...          (re)make the copy STAGE once (ctest fixture
#                                                     tiers.user.stage; exit 77 when not root)
#   run-as-user.sh --staged STAGE TEST_BIN [ARGS...]  run TEST_BIN's copy in STAGE (one ctest entry per
#                                                     test: this path starts no process but setpriv)
#   run-as-user.sh --unstage STAGE                    remove the copy (fixture cleanup tiers.user.unstage)
set -euo pipefail

# stage DIR TEST_BIN...: copies the build tree's programs (found one level above the first test binary).
stage() {
  local dir=$1; shift
  local build_dir
  build_dir=$(cd "$(dirname "$1")/.." && pwd)  # every test binary lives in <build>/tests
  mkdir -m 755 "$dir"
  # A test binary not built (yet) is left out: its own ctest entries report it (<tier>.NOT_BUILT).
  local bin
  for bin in "$@"; do
    if [ -f "$bin" ]; then cp "$bin" "$dir/"; fi
  done
  cp "$build_dir/src/cli/airlock" "$dir/airlock"
  find "$build_dir/src" -maxdepth 2 -type f -name 'airlock-*' -perm -u+x -exec cp {} "$dir/" \;
  cp -r "$build_dir/tests/helpers" "$dir/helpers"
  local src_dir
  src_dir=$(cd "$(dirname "$0")/.." && pwd)
  if [ -d "$src_dir/rules" ]; then cp -r "$src_dir/rules" "$dir/rules"; fi
  chmod -R a+rX "$dir"
  mkdir -m 1777 "$dir/tmp"
}

# env_for DIR TMP: the environment of a staged run (AIRLOCK_BIN and the helpers from the copy).
env_for() {
  [ -d "$1/rules" ] && export AIRLOCK_RULES_DIR="$1/rules"
  export AIRLOCK_BIN="$1/airlock" AIRLOCK_HELPER_DIR="$1/helpers" TMPDIR="$2" HOME="$2"
}
setpriv_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)

case "${1:-}" in
  --stage)
    dir=$2; shift 2
    if [ "$EUID" != 0 ]; then echo "run-as-user.sh: not root, the user tier runs as $(id -un)"; exit 77; fi
    # A fresh copy beside the old one, then swapped in: a stale copy is never half-updated.
    rm -rf "$dir.new"
    stage "$dir.new" "$@"
    rm -rf "$dir"
    mv "$dir.new" "$dir"
    echo "staged $# test binaries in $dir"
    ;;
  --staged)
    dir=$2 test_bin=$3; shift 3
    if [ "$EUID" != 0 ]; then exec "$test_bin" "$@"; fi
    name=${test_bin##*/}
    [ -x "$dir/$name" ] || { echo "run-as-user.sh: $dir is not staged (run ctest's tiers.user.stage)" >&2; exit 1; }
    # A private TMPDIR/HOME per test, removed with the stage (tiers.user.unstage), so nothing is left
    # to wait for after the test: exec.
    # Short names (Chromium's Unix sockets under TMPDIR have a 108-byte limit); a taken name (a reused
    # pid) draws another.
    tmp=$dir/tmp/$$
    for _ in 1 2 3 4 5 6 7 8; do
      if mkdir -m 1777 "$tmp" 2>/dev/null; then break; fi
      tmp=$dir/tmp/$$.$RANDOM
    done
    [ -d "$tmp" ] || { echo "run-as-user.sh: cannot make a TMPDIR under $dir/tmp" >&2; exit 1; }
    env_for "$dir" "$tmp"
    exec "${setpriv_user[@]}" "$dir/$name" "$@"
    ;;
  --unstage)
    rm -rf "$2"
    ;;
  *)
    test_bin=$1; shift
    if [ "$EUID" != 0 ]; then exec "$test_bin" "$@"; fi
    dir=$(mktemp -d /tmp/airlock-user-tests.XXXXXX)
    trap 'rm -rf "$dir"' EXIT
    rmdir "$dir"
    stage "$dir" "$test_bin"
    env_for "$dir" "$dir/tmp"
    "${setpriv_user[@]}" "$dir/$(basename "$test_bin")" "$@"
    ;;
esac
