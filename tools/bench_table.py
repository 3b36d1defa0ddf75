#!/usr/bin/env python3
"""The README's speed table from criterion's estimates of `cargo bench --bench episode`.

Reads <root>/*/new/estimates.json (the median of each bench) and prints each
bench in milliseconds (microseconds for one step) and as pass-equivalents per
online step: its time over the time of `pass` (one streaming pass over the
paper network's weights) measured in the same run, divided by the 250 online
steps of an episode.

Usage: python3 tools/bench_table.py [ROOT [OTHER_ROOT [OTHER [RATIO]]]]
       python3 tools/bench_table.py --widths [ROOT]
       python3 tools/bench_table.py --rounds DIR [OTHER]

ROOT defaults to target/criterion. With OTHER_ROOT (the criterion folder of
a second run: a build with default flags from `tools/dependent_bench.sh`, or
a run beside a memory-streaming process from `tools/contended_bench.sh`), two
more columns give its medians, headed "median, OTHER" (default: "default
flags"), and their ratio to ROOT's, headed RATIO (default: "default /
repository build").

With --rounds, DIR holds the alternating rounds of `tools/dependent_bench.sh`
(DIR/<k>/native and DIR/<k>/default, criterion folders): each bench's median
over the rounds for both builds, the pass-equivalents of both against the
native `pass` (median over the rounds), and the median and range of the
ratios default / native of the rounds. A bench missing from a run or a
round (a criterion filter) is left out. OTHER names the second build in the table's
head (default: "default flags"; `dependent_bench.sh --rustflags` passes
its flags).

With --widths, each bench is set beside its twin on the same network as a
run-time shape (the rows ending in `-widths`, `metaplasticity::Widths`),
measured in the same run, with their ratio.
"""
import json
import pathlib
import sys

STEPS = 250  # online steps per episode: M K = 5 x 50
NET = "784-170-130-100-70-10"
BENCHES = [
    ("one pass over the 176,080 weights (`pass`)", ("pass_" + NET,), None),
    ("`Wbar += W ⊙ B`: the traffic of an adjoint step (`traffic`)", ("traffic_w-b-wbar_" + NET,), 1),
    ("`F^bio`'s update adjoint as six column sweeps, one per path, alone (`sweeps`)", ("sweeps_bio-update-adjoint_" + NET,), 1),
    ("`F^0` episode, feedback alignment", ("episode", "F0_fa_" + NET), STEPS),
    ("`F^0` episode, feedback alignment, in-place reversal", ("episode", "F0_fa-invert_" + NET), STEPS),
    ("`F^bio` episode, feedback alignment", ("episode", "bio_fa_" + NET), STEPS),
    ("`F^bio` episode, feedback alignment, in-place reversal", ("episode", "bio_fa-invert_" + NET), STEPS),
    ("`F^pool` episode (all ten terms), feedback alignment", ("episode", "pool_fa_" + NET), STEPS),
    ("`F^pool` episode (all ten terms), feedback alignment, in-place reversal", ("episode", "pool_fa-invert_" + NET), STEPS),
    ("one online step of `F^bio`", ("step_bio_fa_" + NET,), 1),
    ("the adjoint of one `F^bio` step", ("adjoint_bio_fa_" + NET,), 1),
]


def median_ns(root, parts):
    path = pathlib.Path(root).joinpath(*parts, "new", "estimates.json")
    return json.loads(path.read_text())["median"]["point_estimate"]


def shown(ns):
    if ns > 1e6:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.1f} us" if ns < 1e5 else f"{ns / 1e3:.0f} us"


def widths_twin(parts):
    """The bench of the same network as a run-time shape."""
    *head, last = parts
    for kind in ("fa-invert_", "fa_"):
        if kind in last:
            return (*head, last.replace(kind, kind[:-1] + "-widths_", 1))
    return parts


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


if len(sys.argv) > 1 and sys.argv[1] == "--rounds":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python3 tools/bench_table.py --rounds DIR [OTHER]")
    other = sys.argv[3] if len(sys.argv) == 4 else "default flags"
    rounds = sorted(p for p in pathlib.Path(sys.argv[2]).iterdir() if p.is_dir())

    def medians(build, parts):
        try:
            return [median_ns(r / build, parts) for r in rounds]
        except FileNotFoundError:
            return None

    passes = medians("native", BENCHES[0][1])
    print(f"{len(rounds)} alternating rounds; medians over the rounds; pass-equivalents against the native `pass`.")
    print()
    print(f"| bench | native | pass-equivalents | {other} | pass-equivalents | {other} / native: median (range) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, parts, steps in BENCHES:
        native, default = medians("native", parts), medians("default", parts)
        if native is None or default is None:
            continue
        ratios = [d / n for n, d in zip(native, default)]
        per = steps or 1  # `pass` itself: its own time in native passes
        if passes is None:
            pe_native = pe_default = ""
        else:
            pe_native = f"{median([n / p / per for n, p in zip(native, passes)]):.1f}"
            pe_default = f"{median([d / p / per for d, p in zip(default, passes)]):.1f}"
        spread = f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        print(f"| {name} | {shown(median(native))} | {pe_native} | {shown(median(default))} | {pe_default} | {spread} |")
    sys.exit(0)

if len(sys.argv) > 1 and sys.argv[1] == "--widths":
    root = sys.argv[2] if len(sys.argv) > 2 else "target/criterion"
    pass_ns = median_ns(root, BENCHES[0][1])
    print("| bench | shape as a type | pass-equivalents per online step | run-time `Widths` | run-time / type |")
    print("|---|---:|---:|---:|---:|")
    for name, parts, steps in BENCHES[1:]:
        if widths_twin(parts) == parts:
            continue  # no run-time-shape twin (`traffic`, `sweeps`)
        try:
            ns, twin = median_ns(root, parts), median_ns(root, widths_twin(parts))
        except FileNotFoundError:
            continue  # not in this run (a criterion filter)
        print(f"| {name} | {shown(ns)} | {ns / pass_ns / steps:.1f} | {shown(twin)} | {twin / ns:.2f} |")
    sys.exit(0)

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
dependent = sys.argv[2] if len(sys.argv) > 2 else None
other = sys.argv[3] if len(sys.argv) > 3 else "default flags"
ratio = sys.argv[4] if len(sys.argv) > 4 else "default / repository build"
pass_ns = median_ns(root, BENCHES[0][1])
head = "| bench | median | pass-equivalents per online step |"
rule = "|---|---:|---:|"
if dependent:
    head += f" median, {other} | {ratio} |"
    rule += "---:|---:|"
print(head)
print(rule)
for name, parts, steps in BENCHES:
    try:
        ns = median_ns(root, parts)
        other_ns = median_ns(dependent, parts) if dependent else None
    except FileNotFoundError:
        continue  # not in this run (a criterion filter)
    passes = "1" if steps is None else f"{ns / pass_ns / steps:.1f}"
    row = f"| {name} | {shown(ns)} | {passes} |"
    if dependent:
        row += f" {shown(other_ns)} | {other_ns / ns:.2f} |"
    print(row)
