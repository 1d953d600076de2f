#!/bin/sh
# The farm under chaos at scale (docs/SERVICE.md "Tests"): the ctest farm test (a 3-node NATS cluster,
# `airlock serve`, workers on two nodes of their own network namespaces; a worker and a NATS node
# killed with SIGKILL mid-run) with N submissions instead of 40. Root only; prints the test's timings.
#   bench/service/farm_run.sh [BUILD_DIR] [N]     (defaults: build, 1000)
set -eu
build=${1:-build}
n=${2:-1000}
bin="$build/tests/service_component_tests"
[ -x "$bin" ] || { echo "farm_run: $bin not built (configure with -DAIRLOCK_BUILD_TESTS=ON)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "farm_run: run as root (the nodes' network is made of veth pairs)" >&2; exit 2; }
start=$(date +%s)
AIRLOCK_FARM_SUBMISSIONS=$n "$bin" --gtest_filter='Farm.*' 2>&1 | grep -E '^farm:|OK \]|FAILED|Failure' || true
echo "farm_run: $n submissions, whole run (cluster start to teardown) $(( $(date +%s) - start )) s"
