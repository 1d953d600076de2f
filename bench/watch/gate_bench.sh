#!/bin/bash
# The execution gate's cost per exec (docs/PERFORMANCE.md "Execution gate"): N spawns of /bin/true
# (fork + exec + wait, one at a time) bare, under `airlock watch --enforce`, and under fapolicyd
# (if installed) with upstream's recommended rule set, each after a warm-up of 200 spawns.
#
# Root only. Everything runs in a private mount namespace and both daemons mark only this namespace's
# copies of the mounts (airlock: --mark-mount on /, /tmp, /dev/shm; fapolicyd: the mounts it reads
# from /proc/mounts, which are the copies): no other process on the machine is gated, and the daemons
# are stopped at the end (fapolicyd's configuration is restored, it is left neither running nor
# enabled).
#
# Then the same three variants for a small `make -j2` build (MAKE_FILES=40 C files, from clean).
#
# usage: bench/watch/gate_bench.sh [BUILD_DIR]   (N=2000 by default; N=... to change)
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "gate_bench: needs root (fanotify permission events)" >&2; exit 77; fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
N=${N:-2000}
if [ "${GATE_BENCH_INSIDE:-}" != 1 ]; then
  # Real-time priority (as bench/spawn does): the spawner, /bin/true and the daemons are not queued
  # behind other load on the machine; every variant alike.
  GATE_BENCH_INSIDE=1 exec chrt -f 10 unshare -m --propagation private "$0" "$build"
fi

work=$(mktemp -d /tmp/gate-bench-XXXXXX)
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  if [ -d "$work/fapolicyd-etc" ]; then rm -rf /etc/fapolicyd && cp -a "$work/fapolicyd-etc" /etc/fapolicyd; fi
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/spawn_true" "$here/spawn_true.c"

# run LABEL START_CMD LOG PATTERN: the spawner starts first (it waits on a fifo: a gate would refuse
# its exec), then the gate, ready when LOG holds PATTERN; 200 warm-up spawns, then N measured. While a
# gate runs, this script itself execs nothing (bash builtins only: fapolicyd's rules would refuse a
# sleep or grep the file backend does not list); the daemon is stopped before anything else runs.
run() {
  local label=$1 start=$2 log=$3 pattern=$4
  rm -f "$work/go"; mkfifo "$work/go" "$work/never"
  "${runner_cmd[@]}" < "$work/go" > "$work/run.out" &
  local runner=$!
  exec 3> "$work/go" 5<> "$work/never"
  daemon=""
  if [ -n "$start" ]; then
    ( eval "exec $start" ) &
    daemon=$!
    local up=0
    for _ in $(seq 300); do
      if [ -f "$log" ] && [[ "$(< "$log")" == *"$pattern"* ]]; then up=1; break; fi
      read -r -t 0.1 -u 5 || true
    done
    if [ "$up" != 1 ]; then kill "$daemon"; wait "$daemon" || true; daemon=""; echo "$label: the daemon did not come up" >&2; tail -5 "$log" >&2; exit 1; fi
  fi
  echo go >&3; exec 3>&- 5>&-
  wait "$runner"
  if [ -n "$daemon" ]; then kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""; fi
  rm -f "$work/go" "$work/never"
  printf '%-28s %s\n' "$label" "$(cat "$work/run.out")"
}

runner_cmd=("$work/spawn_true" "$N" 200 /bin/true)
# The second workload: a small C project (MAKE_FILES files) built with `make -j2` from clean, timed by
# a runner started before the gate like the spawner (it reads "go", builds once to warm up, cleans, then
# builds again, measured; make, gcc, cc1, as,
# ld and sh are dpkg's, so airlock trusts them by content, and fapolicyd's trust file lists them below).
MAKE_FILES=${MAKE_FILES:-40}
mkdir -p "$work/proj"
for i in $(seq "$MAKE_FILES"); do
  printf 'static int t[64];\nint f%d(int x) { for (int i = 0; i < 64; ++i) t[i] = x * i + %d; int s = 0; for (int i = 0; i < 64; ++i) s += t[i] ^ (s >> 3); return s; }\n' "$i" "$i" > "$work/proj/f$i.c"
done
{ echo 'int main(void) { return 0; }'; } > "$work/proj/main.c"
printf 'OBJS := $(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJS)\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\nclean:\n\trm -f *.o prog\n' > "$work/proj/Makefile"
cat > "$work/make_runner.sh" <<'RUNNER'
#!/bin/bash
make -s -C "$1" clean > /dev/null
read -r _
# A warm-up build under the gate (a daemon's first sight of cc1, as, ld... hashes them against dpkg's
# md5sums, once), then the measured one from clean.
make -s -j2 -C "$1" > /dev/null 2>&1; make -s -C "$1" clean > /dev/null
t0=$EPOCHREALTIME
make -s -j2 -C "$1" > /dev/null 2>&1; rc=$?
t1=$EPOCHREALTIME
echo "make -j2 of $2 files: rc=$rc wall_ms=$(( (${t1/./} - ${t0/./}) / 1000 ))"
RUNNER
chmod +x "$work/make_runner.sh"

ROUNDS=${ROUNDS:-3}
echo "kernel $(uname -r), $(nproc) CPUs, $ROUNDS rounds of N=$N spawns of /bin/true per variant (interleaved); latency in microseconds"
mkdir -p "$work/dl"
watch_start="'$build/src/watch/airlock-watch' watch --enforce --no-detonate --state-dir '$work/state' --watch '$work/dl' --mark-mount / --mark-mount /tmp --mark-mount /dev/shm --log '$work/watch.log'"
have_fapolicyd=0
if command -v fapolicyd > /dev/null; then
  have_fapolicyd=1
  cp -a /etc/fapolicyd "$work/fapolicyd-etc"
  rm -f /etc/fapolicyd/rules.d/*
  # Upstream's recommended rule set (fapolicyd's README: the "known-libs" policy), as Debian ships it
  # in sample-rules (Debian's own default is the single rule "deny_audit perm=execute all : all").
  for r in 10-languages 20-dracut 21-updaters 30-patterns 40-bad-elf 41-shared-obj 42-trusted-elf 70-trusted-lang 72-shell 90-deny-execute 95-allow-open; do
    if [ -f "/usr/share/fapolicyd/sample-rules/$r.rules" ]; then cp "/usr/share/fapolicyd/sample-rules/$r.rules" /etc/fapolicyd/rules.d/; fi
  done
  # Debian has no rpm database: trust comes from the file backend; /bin/true and what it loads.
  : > /etc/fapolicyd/fapolicyd.trust
  # For the make workload: the toolchain and everything it loads (make, gcc, cc1, collect2, as, ld and
  # its LTO plugin, the shell), found with ldd.
  tools="/usr/bin/make $(readlink -f /usr/bin/gcc) $(readlink -f /usr/bin/cc) $(ls /usr/lib/gcc/x86_64-linux-gnu/*/{cc1,collect2,lto-wrapper,liblto_plugin.so} 2>/dev/null) $(readlink -f /usr/bin/as) $(readlink -f /usr/bin/ld) /usr/bin/dash /usr/bin/bash /usr/bin/rm"
  libs=$(for t in $tools; do ldd "$t" 2>/dev/null | awk '/=> \// { print $3 }'; done | sort -u)
  for f in /usr/bin/true /usr/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$work/spawn_true" "$work/make_runner.sh" $tools $libs; do
    real=$(readlink -f "$f")
    echo "$real $(stat -c %s "$real") $(sha256sum "$real" | cut -d' ' -f1)" >> /etc/fapolicyd/fapolicyd.trust
  done
  # Run as root: some containers refuse its switch to the fapolicyd user ("Cannot change to uid").
  sed -i 's/^trust = .*/trust = file/; s/^uid = .*/uid = root/; s/^gid = .*/gid = root/' /etc/fapolicyd/fapolicyd.conf
  fagenrules --load > /dev/null 2>&1 || true
  rm -rf /var/lib/fapolicyd/*.mdb; mkdir -p /run/fapolicyd /var/lib/fapolicyd
else
  echo "fapolicyd: not installed (apt-get install fapolicyd), not measured"
fi
# One round of every variant on the current workload (runner_cmd), headed by LABEL.
round_of_variants() {
  echo "$1"
  run "bare" "" "" ""
  rm -f "$work/watch.log"
  run "airlock watch --enforce" "$watch_start" "$work/watch.log" " ready pid="
  { grep -c " deny " "$work/watch.log" || true; } | sed 's/^/  airlock watch denials during the run: /'
  rm -f "$work/watch.log"
  run "airlock watch (exec only)" "$watch_start --no-interpreters" "$work/watch.log" " ready pid="
  if [ "$have_fapolicyd" = 1 ]; then
    rm -f "$work/fapolicyd.log"
    run "fapolicyd 1.1.7" "fapolicyd --debug-deny > '$work/fapolicyd.log' 2>&1" "$work/fapolicyd.log" "Starting to listen for events"
    { grep -c "dec=deny" "$work/fapolicyd.log" || true; } | sed 's/^/  fapolicyd denials during the run: /'
  fi
}
for round in $(seq "$ROUNDS"); do round_of_variants "round $round"; done
runner_cmd=("$work/make_runner.sh" "$work/proj" "$((MAKE_FILES + 1))")
for round in $(seq "$ROUNDS"); do round_of_variants "make round $round"; done
