#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for N seconds (default 60) on its seed corpus.
# Needs: clang, libclang-rt-14-dev (Debian). Usage: fuzz/run.sh [SECONDS] [BUILD_DIR]
# Crashes are written to BUILD_DIR/crash-*; the script exits non-zero when one is found.
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
build=${2:-$here/../build-scan-fuzz}
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j2
for t in archive_password report_writer; do
  work=$(mktemp -d)
  cp "$here/corpus/$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$t for ${secs}s"
  "$build/fuzz_$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$build/" "$work" 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true
  rm -rf "$work"
done
if ls "$build"/crash-* >/dev/null 2>&1; then
  echo "crashes found:"; ls "$build"/crash-*
  exit 1
fi
