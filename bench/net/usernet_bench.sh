#!/bin/bash
# User-mode network helpers side by side (docs/PERFORMANCE.md "Network helpers"): throughput of a
# large download from a server on this host, and TCP connect latency, through `airlock run --net user`
# with each helper (AIRLOCK_NET_HELPER=slirp4netns|pasta) and, optionally, a second airlock binary
# (the build before a change). Runs are interleaved (A B C A B C ...) and each figure is the median.
#
# usage (root): bench/net/usernet_bench.sh AIRLOCK [BASELINE_AIRLOCK] [ROUNDS]
# Traffic stays on this machine: the server runs in a network namespace this script creates, behind
# a veth pair (10.203.0.1 here, 10.203.0.2 there); the sandbox reaches it through the helper, which
# connects from the host's namespace (allowed explicitly with --net-allow ADDRESS:PORT).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (it creates a network namespace for the server)" >&2; exit 1; }
airlock=${1:?usage: $0 AIRLOCK [BASELINE_AIRLOCK] [ROUNDS]}
baseline=${2:-}
rounds=${3:-5}
mib=${BENCH_MIB:-512}
connects=${BENCH_CONNECTS:-200}
ns=airlock-bench-$$
host=10.203.0.2
work=$(mktemp -d /tmp/airlock-netbench-XXXXXX)
chmod 755 "$work"
trap 'kill $server 2>/dev/null; ip link del ab$$-h 2>/dev/null; ip netns del $ns 2>/dev/null; rm -rf "$work"' EXIT
ip netns add $ns
ip link add ab$$-h type veth peer name ab$$-s
ip link set ab$$-s netns $ns
ip addr add 10.203.0.1/24 dev ab$$-h && ip link set ab$$-h up
ip -n $ns addr add $host/24 dev ab$$-s && ip -n $ns link set ab$$-s up && ip -n $ns link set lo up

# The server: port A sends $mib MiB per connection, port B accepts and closes (bounded: it exits
# when this script does).
cat > "$work/server.py" <<'PY'
import socket, sys, threading
host, mib = sys.argv[1], int(sys.argv[2])
def serve(sock, fn):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()
def bulk(c):
    chunk = b"\0" * (1 << 20)
    try:
        for _ in range(mib): c.sendall(chunk)
    finally: c.close()
def close(c): c.close()
a = socket.create_server((host, 0)); b = socket.create_server((host, 0), backlog=512)
print(a.getsockname()[1], b.getsockname()[1], flush=True)
threading.Thread(target=serve, args=(b, close), daemon=True).start()
serve(a, bulk)
PY
# The client, inside the sandbox: one download, then $connects sequential connects.
cat > "$work/client.py" <<'PY'
import socket, sys, time
host, pa, pb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = time.monotonic(); got = 0
with socket.create_connection((host, pa)) as s:
    while True:
        d = s.recv(1 << 20)
        if not d: break
        got += len(d)
mbps = got / (1 << 20) / (time.monotonic() - t)
t = time.monotonic()
for _ in range(n):
    with socket.create_connection((host, pb)) as s: pass
print(f"{mbps:.1f} {(time.monotonic() - t) / n * 1e6:.1f}")
PY
coproc SRV { exec ip netns exec $ns /usr/bin/python3 "$work/server.py" "$host" "$mib"; }
server=$SRV_PID
read -r pa pb <&"${SRV[0]}"

startup() {  # airlock helper -> ms for `airlock run --net user -- /bin/true` (helper start and stop)
  local t0 t1
  t0=$(date +%s%N)
  AIRLOCK_NET_HELPER=$2 "$1" run --net user -- /bin/true
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
run() {  # label airlock helper -> "MiB/s connect_us"
  AIRLOCK_NET_HELPER=$3 "$2" run --net user --net-allow "$host:$pa" --net-allow "$host:$pb" \
    --ro-bind "$work" /bench -- /usr/bin/python3 /bench/client.py "$host" "$pa" "$pb" "$connects"
}
declare -A tput lat start
variants=("new slirp4netns" "new pasta")
[ -n "$baseline" ] && variants+=("old slirp4netns")
for ((i = 0; i < rounds; i++)); do
  for v in "${variants[@]}"; do
    read -r which helper <<<"$v"
    bin=$airlock; [ "$which" = old ] && bin=$baseline
    read -r m l < <(run "$v" "$bin" "$helper")
    tput[$v]+="$m "; lat[$v]+="$l "
    start[$v]+="$(startup "$bin" "$helper") "
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "server $host (veth), $mib MiB download, $connects connects, $rounds interleaved rounds (medians)"
printf '%-18s %10s %12s %12s\n' variant MiB/s connect_us startup_ms
ref_t=$(median <<<"${tput[new slirp4netns]}"); ref_l=$(median <<<"${lat[new slirp4netns]}")
for v in "${variants[@]}"; do
  t=$(median <<<"${tput[$v]}"); l=$(median <<<"${lat[$v]}"); st=$(median <<<"${start[$v]}")
  printf '%-18s %10s %12s %12s   (x%.2f throughput, x%.2f latency vs new slirp4netns)\n' "$v" "$t" "$l" "$st" \
    "$(echo "$t / $ref_t" | bc -l)" "$(echo "$l / $ref_l" | bc -l)"
done
