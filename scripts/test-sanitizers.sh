#!/usr/bin/env bash
# ASan+UBSan pass over the unit tier and the parser tests (Sigma, Office, content detectors, scan
# engine), plus the fuzz replay drivers over their seed corpora. Bounded: only these targets are built.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_SANITIZE=ON -DAIRLOCK_BUILD_BENCH=OFF -DAIRLOCK_WERROR=ON >/dev/null
targets=$(cmake --build build-asan --target help | awk '/^\.\.\. (unit_|sigma_tests|scan_office_tests|scan_content_tests|scan_engine_tests|fuzz_.*_replay)/ {print $2}')
cmake --build build-asan -j"$jobs" --target $targets
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$jobs" -R '^(unit|sigma|scan|fuzz)\.' --timeout 600
# Fuzz replay drivers (libFuzzer targets built as plain programs with g++): every seed once. The
# engine's are ctest entries above (fuzz.replay.*); this loop covers the detector families' too.
for bin in build-asan/fuzz/*/fuzz_*_replay build-asan/fuzz/fuzz_*_replay; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin" _replay); name=${name#fuzz_}
  for corpus in fuzz/*/corpus/"$name" fuzz/corpus/"$name" fuzz/*/corpus fuzz/corpus; do
    if [ -d "$corpus" ]; then echo "fuzz replay: $bin $corpus"; "$bin" "$corpus" >/dev/null; break; fi
  done
done
# libFuzzer targets, each for a bounded time on its seeds: all of them with clang 16 (fuzz/run.sh), only
# the engine's own parsers with clang 14.
if { command -v clang++-16 >/dev/null || command -v clang++ >/dev/null; } && [ -x fuzz/run.sh ]; then
  fuzz/run.sh "${AIRLOCK_FUZZ_SECONDS:-20}" "$PWD/build-fuzz"
fi
echo "sanitizer pass: ok"
