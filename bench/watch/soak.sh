#!/bin/bash
# Soak of the execution gate (issue 15; docs/PERFORMANCE.md §12 "Soak"): DURATION seconds (default
# 1800) of fork/exec stress under `airlock watch --enforce`, with its log rotated away every minute and
# a package installed, run and removed every five minutes. Measures what must hold on a real endpoint:
#  - hangs: a batch of 2,000 spawns (fork + exec + wait of /bin/true, one at a time) that is not done
#    within 120 s counts as one; the run's verdict needs zero;
#  - the gate's added exec latency: each batch's p50/p99 against a bare batch measured before the
#    daemon starts, and the worst batch;
#  - a background shell loop spawning /bin/true as fast as it can (a second exec stream, counted);
#  - log rotation: after each `mv`, the daemon writes a new log at the same name within 3 s;
#  - a package installed mid-run (dpkg -i of Debian's `hello`, fetched before the gate starts): its
#    program is refused until judged (it is new to the trust index), then runs; dpkg -r removes it.
# Root only. Like gate_bench.sh it runs in a private mount namespace and marks only that namespace's
# copies of the mounts: nothing else on the machine is gated. Not run in CI (bench/, a long run).
#
# usage: bench/watch/soak.sh [BUILD_DIR]   (DURATION=1800 by default)
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "soak: needs root (fanotify permission events)" >&2; exit 77; fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
DURATION=${DURATION:-1800}
if [ "${SOAK_INSIDE:-}" != 1 ]; then
  SOAK_INSIDE=1 exec unshare -m --propagation private "$0" "$build"
fi

work=$(mktemp -d /tmp/gate-soak-XXXXXX)
daemon="" stress=""
cleanup() {
  [ -n "$stress" ] && kill "$stress" 2>/dev/null || true
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  dpkg -r hello > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/spawn_true" "$here/spawn_true.c"
(cd "$work" && apt-get download hello > /dev/null 2>&1) || { echo "soak: apt-get download hello failed (no package mirror?)" >&2; exit 1; }
deb=$(ls "$work"/hello_*.deb)

# batch: 2,000 spawns; prints spawn_true's line, or "HANG" when not done in 120 s.
batch() { echo go | timeout 120 "$work/spawn_true" 2000 0 /bin/true || echo "HANG"; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<< "$2"; }

# The second exec stream runs from here on, so the bare batch and the gated ones share the CPU alike.
( n=0; trap 'echo "$n" > "$work/stress.count"; exit 0' TERM; while :; do /bin/true; n=$((n + 1)); done ) &
stress=$!
bare=$(batch)
echo "bare (beside the background loop): $bare"
mkdir -p "$work/dl" "$work/state"
# The spawner is this run's own tool (not a download): on the allow-list, as an administrator would.
"$build/src/watch/airlock-watch" watch --enforce --no-detonate --state-dir "$work/state" --watch "$work/dl" \
  --mark-mount / --mark-mount /tmp --mark-mount /dev/shm --allow "$work/spawn_true" --log "$work/watch.log" &
daemon=$!
for _ in $(seq 300); do grep -q " ready pid=" "$work/watch.log" 2>/dev/null && break; sleep 0.1; done
grep -q " ready pid=" "$work/watch.log" || { echo "soak: the daemon did not come up" >&2; exit 1; }

batches=0 hangs=0 failed=0 worst_p99=0 rotations=0 rotated_ok=0 installs=0 refused_first=0 ran_later=0
p99s="" start=$SECONDS next_rotate=$((SECONDS + 60)) next_install=$((SECONDS + 150))
while [ $((SECONDS - start)) -lt "$DURATION" ]; do
  out=$(batch)
  batches=$((batches + 1))
  if [ "$out" = HANG ]; then hangs=$((hangs + 1)); echo "batch $batches: HANG"; continue; fi
  failed=$((failed + $(field failed "$out")))
  p99=$(field p99 "$out"); p99s="$p99s $p99"
  worst_p99=$(awk -v a="$worst_p99" -v b="$p99" 'BEGIN { print (b > a ? b : a) }')
  if [ $SECONDS -ge $next_rotate ]; then
    rotations=$((rotations + 1)); mv "$work/watch.log" "$work/watch.log.$rotations"
    for _ in $(seq 30); do [ -f "$work/watch.log" ] && break; sleep 0.1; done
    [ -f "$work/watch.log" ] && rotated_ok=$((rotated_ok + 1))
    rm -f "$work/watch.log.$rotations"; next_rotate=$((SECONDS + 60))
  fi
  if [ $SECONDS -ge $next_install ]; then
    installs=$((installs + 1))
    dpkg -i "$deb" > "$work/dpkg.out" 2>&1 || { echo "install $installs: dpkg -i failed:"; tail -5 "$work/dpkg.out"; }
    /usr/bin/hello > /dev/null 2>&1 || refused_first=$((refused_first + 1))
    for _ in $(seq 100); do /usr/bin/hello > /dev/null 2>&1 && { ran_later=$((ran_later + 1)); break; }; sleep 0.1; done
    dpkg -r hello > /dev/null 2>&1 || echo "install $installs: dpkg -r failed"
    next_install=$((SECONDS + 300))
  fi
done
kill "$stress"; wait "$stress" 2>/dev/null || true; stress=""
med_p99=$(tr ' ' '\n' <<< "$p99s" | sed '/^$/d' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
echo "soak: ${DURATION}s, kernel $(uname -r), $(nproc) CPUs"
echo "  spawn batches: $batches x 2000 (failed spawns $failed), hangs: $hangs"
echo "  p99 per spawn: bare $(field p99 "$bare") us; under the gate median of batches $med_p99 us, worst batch $worst_p99 us"
echo "  p50 per spawn: bare $(field p50 "$bare") us"
echo "  background /bin/true loop: $(cat "$work/stress.count" 2>/dev/null || echo '?') spawns"
echo "  log rotations: $rotations, a new log appeared within 3 s after $rotated_ok"
echo "  package installs: $installs; hello refused at first (unjudged) $refused_first, ran after its verdict $ran_later"
echo "  daemon denials logged: $(cat "$work"/watch.log* 2>/dev/null | grep -c " deny " || true) (in the last log)"
[ "$hangs" = 0 ]
