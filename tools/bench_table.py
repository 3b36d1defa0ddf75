#!/usr/bin/env python3
"""The README's speed table from criterion's estimates of `cargo bench --bench episode`.

Reads target/criterion/*/new/estimates.json (median of each bench) and prints
each bench in milliseconds (microseconds for one step) and as pass-equivalents
per online step: its time over the time of `pass` (one streaming pass over the
paper network's weights) measured in the same run, divided by the 250 online
steps of an episode. Usage: python3 tools/bench_table.py [target/criterion]
"""
import json
import pathlib
import sys

STEPS = 250  # online steps per episode: M K = 5 x 50

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median_ns(*parts):
    path = root.joinpath(*parts, "new", "estimates.json")
    return json.loads(path.read_text())["median"]["point_estimate"]


net = "784-170-130-100-70-10"
pass_ns = median_ns("pass_" + net)
rows = [
    ("`F^0` episode, feedback alignment", median_ns("episode", "F0_fa_" + net), STEPS),
    ("`F^bio` episode, feedback alignment", median_ns("episode", "bio_fa_" + net), STEPS),
    ("one online step of `F^bio`", median_ns("step_bio_fa_" + net), 1),
]
print("| bench | median | pass-equivalents per online step |")
print("|---|---:|---:|")
print(f"| one pass over the 176,080 weights (`pass`) | {pass_ns / 1e3:.1f} us | 1 |")
for name, ns, steps in rows:
    time = f"{ns / 1e6:.1f} ms" if ns > 1e6 else f"{ns / 1e3:.0f} us"
    print(f"| {name} | {time} | {ns / pass_ns / steps:.1f} |")
