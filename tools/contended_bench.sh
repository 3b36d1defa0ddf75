#!/usr/bin/env bash
# The episode benches on core 0, first with the other core idle, then while
# a second process streams memory on core 1 (it copies a 512 MiB buffer over
# and over: the traffic of another tenant, far beyond the caches), and both
# in one table (tools/bench_table.py): how much the episode slows when the
# memory system is shared.
#
# Usage: tools/contended_bench.sh [criterion options, e.g. --measurement-time 5]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench episode --no-run
idle=target/contended/idle
loaded=target/contended/loaded
rm -rf "$idle" "$loaded"
run() {
    CRITERION_HOME="$1" taskset -c 0 cargo bench --bench episode -- "${@:2}"
}
run "$idle" "$@"
taskset -c 1 python3 -c '
b = bytearray(1 << 29)
while True:
    c = bytes(b)
' &
load=$!
trap 'kill $load 2>/dev/null' EXIT
sleep 1
run "$loaded" "$@"
kill $load
python3 tools/bench_table.py "$idle" "$loaded" "other core streaming memory" "streaming / idle"
