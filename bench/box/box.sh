#!/bin/bash
# Boxes side by side (docs/PERFORMANCE.md "Boxes"): the start of a program in a box against a plain
# airlock run, bubblewrap and a bare overlay made with unshare; box creation; the change listing of a
# box with 10,000 changed files; snapshot and restore of that box. Wall-clock means over N runs on an otherwise idle machine.
#   bench/box/box.sh [AIRLOCK] [N]      (default: build/src/cli/airlock, 200)
set -euo pipefail
A=${1:-build/src/cli/airlock}
N=${2:-200}
A=$(readlink -f "$A")
work=$(mktemp -d /tmp/airlock-box-bench.XXXXXX)
chmod 755 "$work"
trap 'chmod -R u+rwX "$work"; rm -rf "$work"' EXIT
export AIRLOCK_BOX_STORE=$work/store
mkdir -p "$work/tree" "$work/u" "$work/w" "$work/m"
echo x > "$work/tree/file"

# mean milliseconds per run of "$@", N times
mean_ms() {
  local t0 t1 i
  t0=$(date +%s%N)
  for ((i = 0; i < N; i++)); do "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; done
  t1=$(date +%s%N)
  echo "scale=2; ($t1 - $t0) / 1000000 / $N" | bc
}

"$A" box create bench --over "$work/tree:/data" > /dev/null
bare=$(mean_ms /bin/true)
cold=$(mean_ms "$A" run --pool off -- /bin/true)
box=$(mean_ms "$A" box run bench -- /bin/true)
fuse_ms=n/a
if "$A" box create fbench --overlay fuse --over "$work/tree:/data" > /dev/null 2>&1; then
  fuse_ms=$(mean_ms "$A" box run fbench -- /bin/true)
  "$A" box rm fbench > /dev/null
fi
bwrap_ms=n/a
if command -v bwrap > /dev/null; then
  bwrap_ms=$(mean_ms bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/lib64 /lib64 --symlink usr/lib /lib \
             --symlink usr/bin /bin --proc /proc --dev /dev --tmpfs /tmp --bind "$work/tree" /data -- /bin/true)
fi
ovl=$(mean_ms unshare -Urm sh -c "mount -t overlay overlay -o lowerdir=$work/tree,upperdir=$work/u,workdir=$work/w,userxattr $work/m && /bin/true")

t0=$(date +%s%N)
for ((i = 0; i < 50; i++)); do "$A" box create "c$i" --over "$work/tree" > /dev/null; done
t1=$(date +%s%N)
for ((i = 0; i < 50; i++)); do "$A" box rm "c$i" > /dev/null; done
t2=$(date +%s%N)
create=$(echo "scale=2; ($t1 - $t0) / 1000000 / 50" | bc)
remove=$(echo "scale=2; ($t2 - $t1) / 1000000 / 50" | bc)

"$A" box run bench -- /bin/sh -c 'mkdir -p /data/many && cd /data/many && i=0; while [ $i -lt 10000 ]; do : > f$i; i=$((i+1)); done'
n=$("$A" box diff bench | wc -l)
diff_ms=$(N=5; mean_ms "$A" box diff bench)
json_ms=$(N=5; mean_ms "$A" box diff bench --json)

# A snapshot of those 10,000 files (an export to <box>/snapshots) and a restore of it after a change
# (an import in a sandbox, verified, swapped in).
t0=$(date +%s%N)
"$A" box snapshot bench s1 > /dev/null
t1=$(date +%s%N)
"$A" box run bench -- /bin/sh -c 'echo later > /data/later' > /dev/null
t2=$(date +%s%N)
"$A" box restore bench s1 > /dev/null
t3=$(date +%s%N)
snap_ms=$(echo "scale=1; ($t1 - $t0) / 1000000" | bc)
t0=$(date +%s%N)
tar -C "$work/store/bench/layers/0" -cf "$work/peer.tar" upper && sync -f "$work/peer.tar"
t1=$(date +%s%N)
tar_ms=$(echo "scale=1; ($t1 - $t0) / 1000000" | bc)
restore_ms=$(echo "scale=1; ($t3 - $t2) / 1000000" | bc)
[ "$("$A" box diff bench | wc -l)" = "$n" ] || { echo "restore did not bring back the snapshot" >&2; exit 1; }

# Commit of those 10,000 files against cp -a of the same files (both to the same filesystem).
cp -a "$work/store/bench/layers/0/upper/many" "$work/copy-source"
t0=$(date +%s%N)
cp -a "$work/copy-source" "$work/copy-dest"
t1=$(date +%s%N)
"$A" box commit bench > /dev/null
t2=$(date +%s%N)
cpa_ms=$(echo "scale=1; ($t1 - $t0) / 1000000" | bc)
commit_ms=$(echo "scale=1; ($t2 - $t1) / 1000000" | bc)
t0=$(date +%s%N)
cp -a "$work/copy-source" "$work/copy-dest2" && sync -f "$work/copy-dest2"
t1=$(date +%s%N)
cpasync_ms=$(echo "scale=1; ($t1 - $t0) / 1000000" | bc)
[ "$(ls "$work/tree/many" | wc -l)" = 10000 ] || { echo "commit did not write the 10,000 files" >&2; exit 1; }

ratio() { if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; else echo "scale=2; $1 / $2" | bc; fi; }
cat <<TABLE
| what (mean of $N runs; diff: 5) | ms | vs airlock run | vs bwrap |
|---|---|---|---|
| /bin/true, no sandbox | $bare | | |
| \`airlock run --pool off -- /bin/true\` | $cold | 1.00 | $(ratio "$cold" "$bwrap_ms") |
| \`airlock box run B -- /bin/true\` (one tree) | $box | $(ratio "$box" "$cold") | $(ratio "$box" "$bwrap_ms") |
| \`airlock box run B -- /bin/true\`, fuse-overlayfs driver | $fuse_ms | $(ratio "$fuse_ms" "$cold") | $(ratio "$fuse_ms" "$bwrap_ms") |
| bubblewrap 0.8, same tree bound (Debian 12's bwrap has no overlay) | $bwrap_ms | $(ratio "$bwrap_ms" "$cold") | 1.00 |
| \`unshare -Urm\` + overlay mount (userxattr) + /bin/true | $ovl | $(ratio "$ovl" "$cold") | $(ratio "$ovl" "$bwrap_ms") |
| \`airlock box create\` (one tree) | $create | | |
| \`airlock box rm\` (empty box) | $remove | | |
| \`airlock box diff\`, $n changes (text) | $diff_ms | | |
| \`airlock box diff --json\`, $n changes | $json_ms | | |
| \`airlock box snapshot\`, $n changes | $snap_ms | | |
| \`tar -cf\` of the same upper layer + sync (the peer of a snapshot) | $tar_ms | | |
| \`airlock box restore\`, $n changes | $restore_ms | | |
| \`airlock box commit\`, $n changes (review, conflict check, fsync per file) | $commit_ms | | |
| \`cp -a\` of the same 10,000 files | $cpa_ms | | |
| \`cp -a\` + \`sync -f\` of the same files (durable, as commit is) | $cpasync_ms | | |
TABLE
