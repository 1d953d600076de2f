#!/usr/bin/env bash
# The systemd units airlock ships (examples/systemd, deploy/systemd), checked by systemd's own parser:
# `systemd-analyze verify` of each, with /usr/local/bin/airlock replaced by the built binary (a
# template unit is checked as its instance @1). Any message (an unknown key, a bad value, a missing
# program) fails the check: systemd only warns about those and starts the unit without the setting.
# Usage: scripts/check-units.sh AIRLOCK_BINARY UNIT_FILE...   (exit 77, a skip, without systemd-analyze)
set -uo pipefail
bin=$1
shift
if ! command -v systemd-analyze >/dev/null; then
  echo "check-units: systemd-analyze is not installed (Debian package systemd): not checked" >&2
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
status=0
for unit in "$@"; do
  name=$(basename "$unit")
  name=${name/@./@1.}
  sed "s|/usr/local/bin/airlock|$bin|g" "$unit" > "$dir/$name"
  out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$dir/$name" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "check-units: $unit: ${out:-systemd-analyze exited $rc}" >&2
    status=1
  else
    echo "check-units: $unit: ok"
  fi
done
exit $status
