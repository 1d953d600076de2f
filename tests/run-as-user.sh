#!/usr/bin/env bash
# Runs a test binary as an unprivileged user (the integration tier's second pass).
# As root: runs the test from a world-readable copy of the build (the airlock binary, its airlock-*
# siblings, the helpers, the rules and the test binary) with setpriv as uid/gid 65534 (no
# supplementary groups, no capabilities), with a private TMPDIR/HOME removed afterwards.
# As a non-root user already: runs the test directly.
#   run-as-user.sh TEST_BIN [ARGS...]                 stage a fresh copy for this one run
#   run-as-user.sh --stage STAGE TEST_BIN...          (re)make the copy STAGE once (ctest fixture
#                                                     tiers.user.stage; exit 77 when not root)
#   run-as-user.sh --staged STAGE TEST_BIN [ARGS...]  run TEST_BIN's copy in STAGE
set -euo pipefail
src_dir=$(cd "$(dirname "$0")/.." && pwd)

# stage DIR TEST_BIN...: copies the build tree's programs (found one level above the first test binary).
stage() {
  local dir=$1; shift
  local build_dir
  build_dir=$(cd "$(dirname "$1")/.." && pwd)
  mkdir -m 755 "$dir"
  cp "$@" "$dir/"
  cp "$build_dir/src/cli/airlock" "$dir/airlock"
  find "$build_dir/src" -maxdepth 2 -type f -name 'airlock-*' -perm -u+x -exec cp {} "$dir/" \;
  cp -r "$build_dir/tests/helpers" "$dir/helpers"
  if [ -d "$src_dir/rules" ]; then cp -r "$src_dir/rules" "$dir/rules"; fi
  chmod -R a+rX "$dir"
  mkdir -m 1777 "$dir/tmp"
}

# run_staged DIR TEST_NAME ARGS...: runs DIR/TEST_NAME as 65534 with its own TMPDIR and HOME.
run_staged() {
  local dir=$1 name=$2; shift 2
  local tmp
  tmp=$(mktemp -d "$dir/tmp/run.XXXXXX")
  chmod 1777 "$tmp"
  [ -d "$dir/rules" ] && export AIRLOCK_RULES_DIR="$dir/rules"
  export AIRLOCK_BIN="$dir/airlock" AIRLOCK_HELPER_DIR="$dir/helpers" TMPDIR="$tmp" HOME="$tmp"
  local rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
    "$dir/$name" "$@" || rc=$?
  rm -rf "$tmp"
  return $rc
}

case "${1:-}" in
  --stage)
    dir=$2; shift 2
    if [ "$(id -u)" != 0 ]; then echo "run-as-user.sh: not root, the user tier runs as $(id -un)"; exit 77; fi
    # A fresh copy beside the old one, then swapped in: a stale copy is never half-updated.
    rm -rf "$dir.new"
    stage "$dir.new" "$@"
    rm -rf "$dir"
    mv "$dir.new" "$dir"
    echo "staged $# test binaries in $dir"
    ;;
  --staged)
    dir=$2 test_bin=$3; shift 3
    if [ "$(id -u)" != 0 ]; then exec "$test_bin" "$@"; fi
    [ -x "$dir/$(basename "$test_bin")" ] || { echo "run-as-user.sh: $dir is not staged (run ctest's tiers.user.stage)" >&2; exit 1; }
    run_staged "$dir" "$(basename "$test_bin")" "$@"
    ;;
  *)
    test_bin=$1; shift
    if [ "$(id -u)" != 0 ]; then exec "$test_bin" "$@"; fi
    dir=$(mktemp -d /tmp/airlock-user-tests.XXXXXX)
    trap 'rm -rf "$dir"' EXIT
    rmdir "$dir"
    stage "$dir" "$test_bin"
    run_staged "$dir" "$(basename "$test_bin")" "$@"
    ;;
esac
