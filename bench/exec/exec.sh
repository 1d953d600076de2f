#!/bin/bash
# `airlock exec` latency (docs/ARCHITECTURE.md "airlock exec"): a running sandbox, then N execs of
# /bin/true into it, against N cold `airlock run -- /bin/true`. Wall-clock means on an otherwise idle
# machine.
#   bench/exec/exec.sh [AIRLOCK] [N]      (default: build/src/cli/airlock, 50)
set -euo pipefail
A=$(readlink -f "${1:-build/src/cli/airlock}")
N=${2:-50}
name=bench-exec-$$
"$A" run --pool off --name "$name" -- /bin/sh -c 'echo ready; exec sleep 600' > /tmp/$name.log 2>&1 &
run=$!
trap '"$A" stop --grace 0 "$name" > /dev/null 2>&1 || true; wait $run 2> /dev/null || true; rm -f /tmp/$name.log' EXIT
for _ in $(seq 100); do grep -q ready /tmp/$name.log && break; sleep 0.05; done

# mean milliseconds per run of "$@", N times
mean_ms() {
  local t0 t1 i
  t0=$(date +%s%N)
  for ((i = 0; i < N; i++)); do "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; done
  t1=$(date +%s%N)
  echo "scale=2; ($t1 - $t0) / 1000000 / $N" | bc
}
echo "exec /bin/true into a running sandbox: $(mean_ms "$A" exec "$name" -- /bin/true) ms"
echo "cold run of /bin/true:                  $(mean_ms "$A" run --pool off -- /bin/true) ms"
