#!/usr/bin/env bash
# Monitor overhead: a file-heavy workload (extract a tarball of 5,000 files, then read them back) and
# a process-heavy one (a shell loop spawning 2,000 processes), bare vs `airlock run` vs
# `airlock run --monitor` vs `strace -f --seccomp-bpf` tracing the same syscalls, interleaved rounds.
# Usage: bench/monitor/monitor_bench.sh AIRLOCK_BIN [ROUNDS]
set -euo pipefail
airlock=$(realpath "$1"); rounds=${2:-3}
work=$(mktemp -d /tmp/airlock-monbench.XXXXXX); chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
for i in $(seq 5000); do printf 'file %d\n%0512d\n' "$i" 0 > "$work/src/f$i.txt"; done
tar -C "$work/src" -cf "$work/files.tar" .
chmod -R a+rX "$work"
syscalls=execve,execveat,open,openat,openat2,creat,unlink,unlinkat,rename,renameat,renameat2,chmod,fchmod,fchmodat,link,linkat,symlink,symlinkat,connect,sendto,memfd_create,utimensat,truncate,prctl
file_job='rm -rf /tmp/x && mkdir /tmp/x && tar -xf /w/files.tar -C /tmp/x && find /tmp/x -type f -exec cat {} + > /dev/null'
proc_job='i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done'
events=$(mktemp /tmp/airlock-monbench-events.XXXXXX)
# Outside the sandbox, extract into tmpfs too (/dev/shm), as the sandbox's /tmp is a tmpfs.
shm=$(mktemp -d /dev/shm/airlock-monbench.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT
run_variant() {  # variant job
  local v=$1 job=$2
  case $v in
    bare) sh -c "${job//\/tmp\/x/$shm/bare}" ;;
    airlock) "$airlock" run --ro-bind "$work" /w -- /bin/sh -c "$job" ;;
    monitor) "$airlock" run --ro-bind "$work" /w --monitor "$events" --report "$events.report" -- /bin/sh -c "$job" ;;
    strace) strace -f -qq --seccomp-bpf -e trace=$syscalls -o /dev/null sh -c "${job//\/tmp\/x/$shm/st}" ;;
  esac
}
sed_w() { echo "$1" | sed "s#/w/#$work/#g"; }
declare -A times
for workload in file proc; do
  job=$([ $workload = file ] && echo "$file_job" || echo "$proc_job")
  for r in $(seq "$rounds"); do
    for v in bare airlock monitor strace; do
      j=$job; [ $v = bare ] || [ $v = strace ] && j=$(sed_w "$job")
      s=$(date +%s.%N); run_variant $v "$j" >/dev/null 2>&1 || echo "warning: $v failed" >&2; e=$(date +%s.%N)
      times[$workload.$v]+="$(echo "$e - $s" | bc) "
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| workload | bare s | airlock run | airlock run --monitor | strace -f --seccomp-bpf |"
echo "|---|---:|---:|---:|---:|"
for workload in file proc; do
  b=$(echo "${times[$workload.bare]}" | median)
  row="| $workload | $b"
  for v in airlock monitor strace; do
    m=$(echo "${times[$workload.$v]}" | median)
    row+=" | $m ($(echo "scale=2; $m / $b" | bc)x)"
  done
  echo "$row |"
done
ev=$(grep -o '"events": [0-9]*' "$events.report" | head -1); dr=$(grep -o '"dropped": [0-9]*' "$events.report" | head -1)
echo; echo "last monitored run: $ev, $dr; $rounds rounds, variants interleaved."
rm -f "$events" "$events.report"
