#!/bin/bash
# Time from a file landing in a watched directory to its verdict (issue 15; docs/PERFORMANCE.md §12):
# `airlock watch --enforce` watches a directory; each round copies in a new ELF (/bin/true with bytes
# appended: new content, never a cached verdict) and a new two-line shell script, and waits for the
# daemon's "verdict ... path=FILE" line; the latency is the line's time stamp minus the copy's. Twice:
# static triage only (--no-detonate), then with detonation (`airlock analyze`, --detonate-timeout 5).
# Root only; a private mount namespace, only its copies marked (as gate_bench.sh).
#
# usage: bench/watch/verdict_latency.sh [BUILD_DIR]   (ROUNDS=5)
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "verdict_latency: needs root (fanotify)" >&2; exit 77; fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
ROUNDS=${ROUNDS:-5}
if [ "${LATENCY_INSIDE:-}" != 1 ]; then LATENCY_INSIDE=1 exec unshare -m --propagation private "$0" "$build"; fi
work=$(mktemp -d /tmp/verdict-latency-XXXXXX)
daemon=""
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# ms between the copy (epoch seconds with fraction) and the log's verdict line for PATH.
wait_verdict() {
  local path=$1 t0=$2 line=""
  for _ in $(seq 600); do
    line=$(grep " verdict " "$work/watch.log" | grep -E "path=.*/${path##*/}\$" | head -1 || true)
    [ -n "$line" ] && break
    sleep 0.05
  done
  [ -n "$line" ] || { echo "none"; return; }
  local t1; t1=$(date -u -d "$(cut -c1-23 <<< "$line")" +%s.%N)
  awk -v a="$t0" -v b="$t1" -v v="$(sed 's/.* verdict \([a-z]*\) .*/\1/' <<< "$line")" 'BEGIN { printf "%d ms (%s)", (b - a) * 1000, v }'
}

measure() {
  local label=$1; shift
  rm -rf "$work/dl" "$work/state" "$work/watch.log"; mkdir -p "$work/dl" "$work/state"
  "$build/src/watch/airlock-watch" watch --enforce "$@" --state-dir "$work/state" --watch "$work/dl" \
    --mark-mount / --mark-mount /tmp --mark-mount /dev/shm --log "$work/watch.log" &
  daemon=$!
  for _ in $(seq 300); do grep -q " ready pid=" "$work/watch.log" 2>/dev/null && break; sleep 0.1; done
  for r in $(seq "$ROUNDS"); do
    cp /bin/true "$work/elf.tmp"; head -c 64 /dev/urandom >> "$work/elf.tmp"; chmod 755 "$work/elf.tmp"
    printf '#!/bin/sh\necho round %s %s\n' "$r" "$RANDOM$RANDOM" > "$work/sh.tmp"
    local t0; t0=$(date -u +%s.%N)
    cp "$work/elf.tmp" "$work/dl/tool$r"; cp "$work/sh.tmp" "$work/dl/script$r.sh"
    echo "$label round $r: ELF $(wait_verdict "$work/dl/tool$r" "$t0"), script $(wait_verdict "$work/dl/script$r.sh" "$t0")"
  done
  kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
}

echo "kernel $(uname -r), $(nproc) CPUs; latency from the copy into the watched directory to the verdict line"
measure "static triage" --no-detonate
measure "with detonation" --detonate-timeout 5
