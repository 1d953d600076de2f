#!/usr/bin/env bash
# Builds airlock and runs its main jobs on the bundled examples:
#  1. an untrusted script inside the default sandbox (everything it tries is contained),
#  2. static triage of a malicious invoice email (airlock scan).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
bin=build/src/cli/airlock
echo "== airlock check"
"$bin" check || true
echo
echo "== airlock run: an untrusted script in the default profile"
"$bin" run --ro-bind "$PWD/examples" /examples --report /tmp/airlock-demo-report.json -- /examples/untrusted.sh
echo "(report: /tmp/airlock-demo-report.json)"
if [ -x build/src/scan/airlock-scan ]; then
  echo
  echo "== airlock scan: a malicious invoice email"
  "$bin" scan examples/invoice.eml || echo "(exit status $?: 0 clean, 1 malicious, 3 suspicious)"
fi
if [ -x build/src/analyze/airlock-analyze ]; then
  echo
  echo "== airlock analyze: detonate a (harmless) dropper under the behaviour monitor"
  "$bin" analyze --out /tmp/airlock-demo-analysis tests/samples/analyze/dropper_persistence.sh || echo "(exit status $?: 0 clean, 1 malicious, 3 suspicious)"
fi
