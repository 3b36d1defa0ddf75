#!/usr/bin/env bash
# The episode benches twice in one run: as this repository builds them
# (.cargo/config.toml: -C target-cpu=native) and as a crate that depends on
# metaplasticity gets them (no config of ours: the default x86-64 target,
# here forced with RUSTFLAGS, which replaces the config's rustflags), then
# both in one table (tools/bench_table.py). The second build reaches the
# wide kernels only through the run-time dispatch (feature std).
#
# Usage: tools/dependent_bench.sh [criterion options, e.g. --measurement-time 5]
set -euo pipefail
cd "$(dirname "$0")/.."
dependent=target/dependent
cargo bench --bench episode -- "$@"
RUSTFLAGS="-C target-cpu=x86-64" CARGO_TARGET_DIR="$dependent" cargo bench --bench episode -- "$@"
python3 tools/bench_table.py target/criterion "$dependent/criterion"
