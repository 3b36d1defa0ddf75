#!/usr/bin/env bash
# The episode benches as this repository builds them (.cargo/config.toml:
# -C target-cpu=native) against the build a crate that depends on
# metaplasticity gets (no config of ours: the default x86-64 target, here
# forced with RUSTFLAGS, which replaces the config's rustflags; the wide
# kernels are reached only through the run-time dispatch of feature std).
#
# Both bench binaries are built first, then run in alternation: in each
# round, every bench runs in the native build and right after in the
# default one, so that the two measurements of a pair are seconds apart and
# see the same state of a shared host; each round's criterion estimates are
# kept apart (CRITERION_HOME). The table (tools/bench_table.py --rounds)
# gives each build's median over the rounds, pass-equivalents against the
# native `pass` of the same rounds, and the ratio default / native of each
# round (its median and range).
#
# Usage: tools/dependent_bench.sh [--rounds N] [--filter REGEX] [--rustflags FLAGS] [criterion options]
#   --rounds N         rounds (default 3)
#   --filter REGEX     only the benches whose names match (default: all)
#   --rustflags FLAGS  the second build's RUSTFLAGS instead of the default
#                      target's (-C target-cpu=x86-64): any other build to set
#                      beside the native one, e.g. '-C target-cpu=native -C
#                      llvm-args=-fp-contract=fast' (fused multiply-adds; other
#                      bits, docs/PERFORMANCE.md)
#   e.g. tools/dependent_bench.sh --rounds 5 --warm-up-time 1 --measurement-time 3
#        tools/dependent_bench.sh --filter '^(pass|episode/bio/fa/)'
# The rounds' estimates stay in target/dependent/rounds/<k>/{native,default}.
# --help prints this text.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
filter=
rustflags=
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
        --filter) filter=${2:?--filter needs a regular expression}; shift 2 ;;
        --rustflags) rustflags=${2:?--rustflags needs flags}; shift 2 ;;
        -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
    echo "dependent_bench.sh: --rounds wants a positive integer, not '$rounds'" >&2
    exit 2
fi
dependent=target/dependent

# The path of the `episode` bench binary that `cargo bench` builds with the
# environment given in the arguments.
bench_binary() {
    env "$@" cargo bench --bench episode --no-run --message-format=json |
        python3 -c '
import json, sys
exe = [m["executable"] for m in map(json.loads, sys.stdin)
       if m.get("reason") == "compiler-artifact" and m.get("executable")
       and m["target"]["name"] == "episode"]
if not exe:
    sys.exit("dependent_bench.sh: cargo built no episode bench")
print(exe[-1])'
}

native=$(bench_binary)
default=$(bench_binary RUSTFLAGS="${rustflags:--C target-cpu=x86-64}" CARGO_TARGET_DIR="$dependent${rustflags:+/other}")
# "pass/784-...: benchmark" -> "pass/784-..."
mapfile -t benches < <("$native" --bench --list ${filter:+"$filter"} | sed -n 's/: benchmark$//p')
if [[ ${#benches[@]} -eq 0 ]]; then
    echo "dependent_bench.sh: no bench matches '$filter'" >&2
    exit 2
fi
out=$dependent/rounds
rm -rf "$out"
for ((k = 1; k <= rounds; k++)); do
    for bench in "${benches[@]}"; do
        echo "==> round $k of $rounds: $bench, native then ${rustflags:-default flags}"
        CRITERION_HOME="$out/$k/native" "$native" --bench "^$bench\$" "$@"
        CRITERION_HOME="$out/$k/default" "$default" --bench "^$bench\$" "$@"
    done
done
python3 tools/bench_table.py --rounds "$out" "${rustflags:-default flags}"
