#!/usr/bin/env bash
# ASan+UBSan pass over the unit tier and the parser tests (Sigma, Office, content detectors, scan
# engine), plus the fuzz targets over their seed corpora. Bounded: only these targets are built, at
# -O1 with line tables only (-g1: reports keep file:line; a third less to compile than -O2 -g), as a
# unity build (CMAKE_UNITY_BUILD: a library's or test program's sources compiled a few at a time as one
# TU, so the shared headers are parsed and instrumented once per batch; the main build stays one TU per
# file, which keeps each file's includes honest). -Wno-subobject-linkage: g++ takes a batched .cc for a
# header and warns that a class there holds a type from an anonymous namespace (a pimpl's private parts).
# With clang 16 (CI installs it) the fuzz targets run under libFuzzer with ASan+UBSan, which replays
# every seed first, so the g++ replay drivers are not built again here; without it they replay the
# seeds under g++'s sanitizers instead.
# Usage: scripts/test-sanitizers.sh [build|run|all]   (default all; scripts/test.sh runs `build`
# beside the main suite, then `run`)
set -euo pipefail
step=${1:-all}
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzzer=0
if { command -v clang++-16 >/dev/null || command -v clang++ >/dev/null; } && [ -x fuzz/run.sh ]; then fuzzer=1; fi
flags="-O1 -g1 -DNDEBUG"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$flags" \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$flags" -DAIRLOCK_SANITIZE=ON -DAIRLOCK_BUILD_BENCH=OFF -DAIRLOCK_WERROR=ON \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_CXX_FLAGS=-Wno-subobject-linkage -DAIRLOCK_FUZZ_REPLAY=$([ $fuzzer = 1 ] && echo OFF || echo ON) >/dev/null
# airlock_sanitizer_pass (tests/CMakeLists.txt): the unit tier, the Sigma and scan parser tests, and the
# fuzz replays when this build has them (without clang 16 they replay the seeds here).
tests='^(unit|sigma|scan)\.'
if [ $fuzzer = 0 ]; then tests='^(unit|sigma|scan|fuzz)\.'; fi
if [ "$step" != run ]; then
  cmake --build build-asan -j"$jobs" --target airlock_sanitizer_pass
  if [ $fuzzer = 1 ]; then fuzz/run.sh 0 "$PWD/build-fuzz"; fi
  [ "$step" = build ] && { echo "sanitizer pass: built"; exit 0; }
fi
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# scan.Cli.user is left out: there the sanitized scanner runs in a sandbox whose memory bound, for a user
# without a delegated cgroup, is RLIMIT_AS, where ASan cannot map its shadow (the root tier runs the same
# tests under a memory cgroup).
ctest --test-dir build-asan --output-on-failure -j"$jobs" -R "$tests" -E '^scan\.Cli\.user$' --timeout 600
if [ $fuzzer = 0 ]; then
  # Fuzz replay drivers (libFuzzer targets built as plain programs with g++): every seed once.
  for bin in build-asan/fuzz/*/fuzz_*_replay build-asan/fuzz/fuzz_*_replay; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin" _replay); name=${name#fuzz_}
    for corpus in fuzz/*/corpus/"$name" fuzz/corpus/"$name" fuzz/*/corpus fuzz/corpus; do
      if [ -d "$corpus" ]; then echo "fuzz replay: $bin $corpus"; "$bin" "$corpus" >/dev/null; break; fi
    done
  done
fi
# libFuzzer targets, each for a bounded time on its seeds: all of them with clang 16 (fuzz/run.sh), only
# the engine's own parsers with clang 14.
if [ $fuzzer = 1 ]; then
  fuzz/run.sh "${AIRLOCK_FUZZ_SECONDS:-10}" "$PWD/build-fuzz"
fi
echo "sanitizer pass: ok"
