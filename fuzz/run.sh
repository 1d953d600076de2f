#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for N seconds (default 60) on its seed corpus.
# Usage: fuzz/run.sh [SECONDS] [BUILD_DIR]   (SECONDS = 0: build the targets only)
# Crashes are written to BUILD_DIR/crash-*; the script exits non-zero when one is found.
#
# Compilers: clang 16 (Debian: clang-16 libclang-rt-16-dev) builds every target: the engine's own
# parsers (standalone project fuzz/CMakeLists.txt) and the Office and content detectors (the main tree
# with -DAIRLOCK_FUZZ=ON). libstdc++ 12 enables std::expected only when __cpp_concepts >= 202002L,
# which clang 16 implements (P0848) but does not announce yet, so the macro is raised on the command
# line. With clang 14 only the standalone engine targets build (the detectors need std::expected).
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${2:-$root/build-scan-fuzz}
if command -v clang++-16 >/dev/null; then
  cc=clang-16 cxx=clang++-16
  cxx23="-U__cpp_concepts -D__cpp_concepts=202002L -Wno-builtin-macro-redefined"
else
  cc=clang cxx=clang++ cxx23=
  echo "fuzz/run.sh: clang-16 not found; only the engine targets (clang 14 lacks std::expected)" >&2
fi
launcher=
command -v ccache >/dev/null && launcher="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"

# shellcheck disable=SC2086
# (the archive target's sandboxed extractor uses core/error.h, so the engine needs the flag too)
cmake -S "$here" -B "$build/engine" -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx "-DCMAKE_CXX_FLAGS=$cxx23" $launcher >/dev/null
cmake --build "$build/engine" -j2
targets="engine/fuzz_archive_password engine/fuzz_report_writer engine/fuzz_tnef engine/fuzz_plain_text engine/fuzz_magic_numbers engine/fuzz_pool_wire
         engine/fuzz_run_report engine/fuzz_event_line engine/fuzz_analyze_report"
if [ -n "$cxx23" ]; then
  detectors="fuzz_office_ovba fuzz_office_ole_vba fuzz_office_rtf fuzz_office_xml
             fuzz_content_html_svg fuzz_content_pdf fuzz_content_script fuzz_content_elf"
  # shellcheck disable=SC2086
  cmake -S "$root" -B "$build/main" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_FUZZ=ON -DAIRLOCK_BUILD_TESTS=OFF \
    -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx "-DCMAKE_CXX_FLAGS=$cxx23" $launcher >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build/main" -j2 --target $detectors
  for t in $detectors; do
    family=${t#fuzz_}; family=${family%%_*}
    targets="$targets main/fuzz/$family/$t"
  done
fi

[ "$secs" = 0 ] && exit 0

# One target per core at a time (each is single-threaded): the whole pass takes ~secs * targets / cores.
par=$(nproc 2>/dev/null || echo 1)
run_one() {  # $1 = target path under $build; its summary lines go to $2
  t=$(basename "$1")
  name=${t#fuzz_}
  work=$(mktemp -d)
  for seeds in "$here/corpus/$name" "$here/corpus/${name#office_}" "$here/corpus/${name#content_}"; do
    [ -d "$seeds" ] && cp "$seeds"/* "$work"/ 2>/dev/null || true
  done
  {
    echo "== $t for ${secs}s"
    "$build/$1" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$build/" "$work" 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true
  } > "$2"
  rm -rf "$work"
}
logs=$(mktemp -d)
n=0
for bin in $targets; do
  n=$((n + 1))
  run_one "$bin" "$logs/$n.log" &
  if [ $((n % par)) -eq 0 ]; then wait; fi
done
wait
for f in $(ls "$logs" | sort -n); do cat "$logs/$f"; done
rm -rf "$logs"
found=
for f in "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-*; do
  [ -e "$f" ] && found="$found $f"
done
if [ -n "$found" ]; then
  echo "crashes found:$found"
  exit 1
fi
