#!/usr/bin/env bash
# Monitor overhead: a file-heavy workload (extract a tarball of 5,000 files, then read them back) and
# a process-heavy one (a shell loop spawning 2,000 processes): bare vs `airlock run` vs
# `airlock run --monitor` vs `airlock run --monitor --monitor-reads` vs `strace -f --seccomp-bpf`
# tracing the same syscalls, interleaved round by round; then the sustained event rate the monitor
# takes without dropping (event_storm: create+unlink in a loop, two events per iteration).
# Usage: bench/monitor/monitor_bench.sh AIRLOCK_BIN [ROUNDS] [EVENT_STORM_BIN]
# BASELINE_AIRLOCK=/path/to/older/airlock adds its `--monitor` as one more interleaved variant.
set -euo pipefail
airlock=$(realpath "$1"); rounds=${2:-3}
storm=$(realpath "${3:-$(dirname "$airlock")/../../bench/monitor/event_storm}")
work=$(mktemp -d /tmp/airlock-monbench.XXXXXX); chmod 755 "$work"
# Outside the sandbox, extract into tmpfs too (/dev/shm), as the sandbox's /tmp is a tmpfs.
shm=$(mktemp -d /dev/shm/airlock-monbench.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT
mkdir -p "$work/src" "$work/bin"
for i in $(seq 5000); do printf 'file %d\n%0512d\n' "$i" 0 > "$work/src/f$i.txt"; done
tar -C "$work/src" -cf "$work/files.tar" .
cp "$storm" "$work/bin/event_storm"
chmod -R a+rX "$work"
# strace cannot test open flags in its filter: it stops on every call of these (= --monitor-reads).
syscalls=execve,execveat,open,openat,openat2,creat,unlink,unlinkat,rename,renameat,renameat2,chmod,fchmod,fchmodat,link,linkat,symlink,symlinkat,connect,sendto,memfd_create,utimensat,truncate,prctl
file_job='rm -rf /tmp/x && mkdir /tmp/x && tar -xf /w/files.tar -C /tmp/x && find /tmp/x -type f -exec cat {} + > /dev/null'
proc_job='i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done'
events=$(mktemp /tmp/airlock-monbench-events.XXXXXX)
variants="bare airlock monitor reads strace"
baseline=${BASELINE_AIRLOCK:+$(realpath "$BASELINE_AIRLOCK")}
[ -n "$baseline" ] && variants+=" baseline"
run_variant() {  # variant job
  local v=$1 job=$2 out=$shm/$1
  local host_job=${job//\/tmp\/x/$out}; host_job=${host_job//\/w\//$work/}
  case $v in
    bare) sh -c "$host_job" ;;
    airlock) "$airlock" run --ro-bind "$work" /w -- /bin/sh -c "$job" ;;
    monitor) "$airlock" run --ro-bind "$work" /w --monitor "$events" --report "$events.monitor.report" -- /bin/sh -c "$job" ;;
    reads) "$airlock" run --ro-bind "$work" /w --monitor "$events" --monitor-reads --report "$events.reads.report" -- /bin/sh -c "$job" ;;
    baseline) "$baseline" run --ro-bind "$work" /w --monitor "$events" --report "$events.baseline.report" -- /bin/sh -c "$job" ;;
    strace) strace -f -qq --seccomp-bpf -e trace=$syscalls -o /dev/null sh -c "$host_job" ;;
  esac
}
report_field() { grep -o "\"$2\": [0-9]*" "$1" | head -1 | grep -o '[0-9]*$'; }
declare -A times nevents
for workload in file proc; do
  job=$([ $workload = file ] && echo "$file_job" || echo "$proc_job")
  for r in $(seq "$rounds"); do
    for v in $variants; do
      rm -f "$events".*.report
      s=$(date +%s.%N); run_variant $v "$job" >/dev/null 2>&1 || echo "warning: $v failed" >&2; e=$(date +%s.%N)
      times[$workload.$v]+="$(echo "$e - $s" | bc) "
      for rep in "$events".*.report; do
        [ -f "$rep" ] || continue
        nevents[$workload.$v]="$(report_field "$rep" events) events, $(report_field "$rep" dropped) dropped"
      done
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| workload | bare s | airlock run | --monitor | --monitor --monitor-reads | strace -f --seccomp-bpf |${baseline:+ baseline --monitor |}"
echo "|---|---:|---:|---:|---:|---:|${baseline:+---:|}"
for workload in file proc; do
  b=$(echo "${times[$workload.bare]}" | median)
  row="| $workload | $b"
  for v in ${variants#bare }; do
    m=$(echo "${times[$workload.$v]}" | median)
    row+=" | $m ($(echo "scale=2; $m / $b" | bc)x)"
  done
  echo "$row |"
done
echo
for workload in file proc; do
  echo "$workload: --monitor ${nevents[$workload.monitor]:-?}; --monitor-reads ${nevents[$workload.reads]:-?}${baseline:+; baseline ${nevents[$workload.baseline]:-?}} (last round)"
done
echo "per-round seconds: $(for k in "${!times[@]}"; do echo "$k=[${times[$k]% }]"; done | sort | tr '\n' ' ')"

# Sustained rate: the sandboxed loop blocks on every routed call, so the supervisor sets the pace;
# what could drop is the writer falling behind. Report the rate reached and the drops.
echo
echo "| event_storm (create+unlink) | events | events/s | dropped |"
echo "|---|---:|---:|---:|"
n=25000
for r in $(seq "$rounds"); do
  out=$("$work/bin/event_storm" "$shm" $((n / 4)) 4) || true
  read -r ev _ rate <<< "$out" || true
  echo "| bare (no monitor), 4 workers, round $r | $ev | $rate | - |"
  out=$("$airlock" run --ro-bind "$work" /w --monitor "$events" --report "$events.storm.report" -- /w/bin/event_storm /tmp $((n / 4)) 4) || true
  read -r ev _ rate <<< "$out" || true
  echo "| --monitor, 4 workers, round $r | $(report_field "$events.storm.report" events) | $rate | $(report_field "$events.storm.report" dropped) |"
done
rm -f "$events" "$events".*.report
# The writer thread alone, into tmpfs: it must not be what limits the rate.
sink_bench=$(dirname "$storm")/sink_bench
if [ -x "$sink_bench" ]; then
  echo
  "$sink_bench" "$shm/sink.out" 2
fi
