#!/usr/bin/env bash
# bench/escape.sh: run every escape probe (tests/helpers/escape_all) under airlock's default profile,
# bubblewrap and firejail, and print a probe x runtime table in markdown (docs/SECURITY.md).
#
# Usage: bench/escape.sh [--build DIR] [--write FILE]
#   --build DIR   build tree with src/cli/airlock and tests/helpers (default: ./build)
#   --write FILE  also replace the table between the escape-table markers in FILE
# The probes are harmless to the host whatever the runtime does (invalid arguments, bounded loops,
# opens without writes; see tests/helpers/escape_*.c). The host side: a secret file in a fresh
# world-readable directory, a `sleep` to ptrace/kill (restarted per runtime), a TCP listener on
# 0.0.0.0, an abstract unix socket, a SysV shm segment and a pty (tests/helpers/escape_listen),
# AIRLOCK_ESCAPE_SECRET in the environment, and fd 7 open on the secret's directory without O_CLOEXEC.
# Needs bubblewrap, firejail, util-linux (script, setpriv). Takes about a minute (the memory hog
# touches just over a quarter of RAM, at most 4.1 GiB, in each runtime without a memory bound).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
write=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --write) write=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--write FILE]" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
airlock=$build/src/cli/airlock
helpers=$build/tests/helpers
[ -x "$airlock" ] && [ -x "$helpers/escape_all" ] || { echo "build airlock and airlock_test_helpers in $build first" >&2; exit 1; }

work=$(mktemp -d /tmp/airlock-escape-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "airlock-escape-secret" > "$work/escape-secret.txt"
chmod 644 "$work/escape-secret.txt"
"$helpers/escape_listen" "airlock-escape-bench-$$" 900 > "$work/listen.txt" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/listen.txt" ] && break; sleep 0.1; done
read -r port_arg unix_arg shm_arg pts_arg < "$work/listen.txt"
hostip=$(hostname -I 2>/dev/null | awk '{print $1}')
export AIRLOCK_ESCAPE_SECRET=hunter2-bench
ram_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
hog_mb=$(( (ram_mb / 4 < 4096 ? ram_mb / 4 : 4096) + 100 ))  # just above the default memory limit
share_instances=$(( $(cat /proc/sys/user/max_inotify_instances) / 4 )); [ "$share_instances" -gt 32 ] && share_instances=32
share_watches=$(( $(cat /proc/sys/user/max_inotify_watches) / 4 )); [ "$share_watches" -gt 8192 ] && share_watches=8192
quota_shares=("share_instances=$share_instances" "share_watches=$share_watches" share_userns=16)

# Each runtime runs under a fresh pty (script(1)), so the terminal probes have a terminal to attack;
# the tty_tamper row is read from that pty, outside the runtime, before and after (run_tty).
# bwrap and firejail are meant for unprivileged users (bwrap run by root keeps root's capabilities),
# so when this script runs as root they, and one airlock column, run as uid/gid 65534 via setpriv.
# firejail refuses system uids such as 65534 (not in firejail.users), so it runs as the invoking user.
runtimes=(airlock-root airlock-user bwrap-user firejail-noprofile-root firejail-default-root)
as_user=()
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work/home")
  mkdir -m 777 "$work/home"
else
  runtimes=(airlock-user bwrap-user firejail-noprofile-user firejail-default-user)
fi
runtime_cmd() {  # $1 runtime, $2 helper: sets cmd to run tests/helpers/$2 in that runtime
  case $1 in
    airlock-*)
      cmd=("$airlock" run --ro-bind "$helpers" /helpers -- "/helpers/$2") ;;  # the default profile's own bounds
    bwrap-*)
      cmd=(bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr --symlink usr/bin /bin
           --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp
           --ro-bind "$helpers" /helpers "/helpers/$2") ;;
    firejail-noprofile-*)
      cmd=(firejail --quiet --noprofile --net=none "$helpers/$2") ;;
    firejail-default-*)
      cmd=(firejail --quiet "$helpers/$2") ;;
  esac
}
run_one() {  # $1 runtime; prints the probes' lines
  sleep 600 & local sleeper=$!
  pids+=("$sleeper")
  local params=("secret=$work/escape-secret.txt" "secretname=escape-secret.txt" "hostpid=$sleeper" "$port_arg"
                "$unix_arg" "$shm_arg" "$pts_arg" ${hostip:+"hostip=$hostip"} forks=1100 mb="$hog_mb")
  local cmd=()
  runtime_cmd "$1" escape_all
  local prefix=()
  [[ $1 == *-user ]] && prefix=("${as_user[@]}")
  "${prefix[@]}" script -qe -c "$(printf '%q ' "${cmd[@]}" "${params[@]}")" /dev/null </dev/null 2>"$work/$1.err" |
    tr -d '\r' || true
  kill "$sleeper" 2>/dev/null || true
  run_tty "$1"
  run_bounds "$1"
}
# Beyond the default bounds (docs/LIMITS.md): 1,100 processes and 4 GiB + 100 MiB of memory (above the
# default's 1,024 and min(25%, 4g); escape_all), 70,000 files in /tmp (65,536 inodes), and one object
# more than the sandbox's share of each per-user counter (escape_quota). Each attacker stops at its
# target, so a runtime without the bound costs the host that much for a moment, no more.
run_bounds() {  # $1 runtime
  local cmd=() prefix=() probe
  [[ $1 == *-user ]] && prefix=("${as_user[@]}")
  runtime_cmd "$1" escape_resource
  "${prefix[@]}" "${cmd[@]}" inodes n=70000 dir=/tmp </dev/null 2>>"$work/$1.err" || true
  runtime_cmd "$1" escape_quota
  for probe in inotify_instances:"$share_instances" inotify_watches:"$share_watches" userns:16; do
    "${prefix[@]}" "${cmd[@]}" "${probe%%:*}" "${quota_shares[@]}" max=$((${probe##*:} + 1)) </dev/null 2>>"$work/$1.err" || true
  done
}
# Terminal tampering (escape_tty quick: echo and canonical mode off, O_NONBLOCK, TIOCEXCL, window size)
# under the runtime, with the pty's state read from outside before and after: one PROBE line.
run_tty() {  # $1 runtime
  local cmd=()
  runtime_cmd "$1" escape_tty
  local state; state=$(printf '%q ' "$helpers/escape_tty" state)
  local prefix=()
  [[ $1 == *-user ]] && prefix=("${as_user[@]}")
  "${prefix[@]}" script -qe -c "$state; $(printf '%q ' "${cmd[@]}" quick) >/dev/null 2>&1; $state" /dev/null </dev/null \
      2>>"$work/$1.err" | tr -d '\r' | awk '
    /STATE/ { sub(/^.*STATE/, "STATE"); s[++n] = $0 }  # after whatever the pty echoed (script(1) types a NUL at EOF)
    END {
      if (n < 2) { print "PROBE tty_tamper BLOCKED (no terminal state read)"; exit }
      split(s[1], a, " "); split(s[2], b, " "); d = ""
      for (i = 2; i in a; i++) if (a[i] != b[i]) d = d (d ? ", " : "") b[i]
      print (d == "" ? "PROBE tty_tamper BLOCKED terminal unchanged" : "PROBE tty_tamper ESCAPED left " d)
    }' || true
}
# A host directory fd left open without O_CLOEXEC (CVE-2024-21626): every runtime inherits fd 7.
exec 7<"$work"
for rt in "${runtimes[@]}"; do
  run_one "$rt" > "$work/$rt.out"
done
exec 7<&-

# One row per probe (in airlock's order), one cell per runtime.
table_awk='
  function cell(s, d) {
    if (s == "") return "(no result)"
    if (s == "BLOCKED") { sub(/ \(.*$/, "", d); if (length(d) > 28) d = substr(d, 1, 28) "..."; return "blocked: " d }
    if (d ~ /reached (the )?(kernel|tty driver)/) { match(d, /\(E[A-Z0-9]+/); return "reached kernel" (RSTART ? " " substr(d, RSTART, RLENGTH) ")" : "") }
    if (length(d) > 40) d = substr(d, 1, 40) "..."
    return "**ESCAPED**: " d
  }
  BEGIN { nr = split(names, rt, " "); for (i = 1; i <= nr; i++) idx[rt[i] ".out"] = i }
  { f = idx[FILENAME] }
  { sub(/^.*PROBE /, "PROBE ") }
  $1 == "PROBE" { d = ""; for (i = 4; i <= NF; i++) d = d (i > 4 ? " " : "") $i
                  st[f, $2] = $3; det[f, $2] = d; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  END {
    printf "| probe |"; for (i = 1; i <= nr; i++) printf " %s |", rt[i]; print ""
    printf "|---|"; for (i = 1; i <= nr; i++) printf "---|"; print ""
    for (k = 1; k <= n; k++) { p = order[k]; printf "| %s |", p
      for (i = 1; i <= nr; i++) printf " %s |", cell(st[i, p], det[i, p]); print "" }
    printf "| **blocked (of %d)** |", n
    for (i = 1; i <= nr; i++) { c = 0; for (k = 1; k <= n; k++) if (st[i, order[k]] == "BLOCKED") c++; printf " **%d** |", c }
    print ""
  }'
table=$(cd "$work" && awk -v names="${runtimes[*]}" "$table_awk" "${runtimes[@]/%/.out}")
echo "$table"
for rt in "${runtimes[@]}"; do
  [ -s "$work/$rt.err" ] && { echo "--- $rt stderr (first lines):" >&2; head -5 "$work/$rt.err" >&2; }
done

if [ -n "$write" ]; then
  tmp=$(mktemp)
  awk -v table="$table" -v who="$(id -un)" -v date="$(date -u +%Y-%m-%d) $(uname -r), bwrap $(bwrap --version | awk '{print $2}'), firejail $(firejail --version | awk 'NR==1{print $3}')" '
    /<!-- escape-table:begin -->/ { print; print "Measured " date ", invoked as " who ", by bench/escape.sh:"; print ""; print table; skip = 1; next }
    /<!-- escape-table:end -->/ { skip = 0 }
    !skip' "$write" > "$tmp"
  cat "$tmp" > "$write"
  rm -f "$tmp"
fi
