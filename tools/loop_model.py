#!/usr/bin/env python3
"""Hot loops of a program, counted by callgrind and modelled by llvm-mca.

On a shared host whose timings move by 10% from run to run, two measures
do not move: how often each instruction ran (valgrind's callgrind with
`--dump-instr=yes`) and what a CPU model says a loop costs per iteration
(`llvm-mca`). This script joins them. For each function named, it groups
the function's instructions by how often each ran: the instructions of one
loop's body ran equally often. For the groups with the most executed
instructions, it hands the body (jumps and no-ops left out) to `llvm-mca`
and prints cycles per iteration against the bound of the instructions'
throughput. A loop well above that bound waits on latency, for example a
chain of dependent additions.

A group of equal counts can also be straight-line code run once per call
or per column (a loop's set-up, the folds after it); the modelled cycles
are then those of that code repeated, not of a loop.

    RUSTFLAGS="-C target-cpu=x86-64-v3" CARGO_TARGET_DIR=/tmp/v3 \\
      cargo build --release -p metaplasticity-cli
    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file=/tmp/pool.cg \\
      /tmp/v3/release/metaplasticity meta-train --rule pool --episodes 2 \\
      --seed 3 --no-baseline --out /tmp/pool-cg
    python3 tools/loop_model.py /tmp/pool.cg /tmp/v3/release/metaplasticity \\
      --function update_adjoint --top 4

valgrind does not run AVX-512 code, hence the AVX2 build. Needs valgrind,
binutils' objdump and llvm-mca (Debian: valgrind, binutils, llvm).
"""

import argparse
import collections
import re
import subprocess
import sys
import tempfile


def self_costs(path):
    """Executions (Ir) of each instruction address, calls' costs left out."""
    cost = collections.Counter()
    addr = line = 0
    skip = False

    def position(token, previous):
        if token == "*":
            return previous
        if token[0] in "+-":
            return previous + int(token, 0)
        return int(token, 0)

    with open(path) as f:
        for text in f:
            if text.startswith("calls="):
                skip = True  # the next cost line is the call's, inclusive
                continue
            if not text or not (text[0].isdigit() or text[0] in "+-*"):
                continue
            fields = text.split()
            if len(fields) < 3:
                continue
            addr, line = position(fields[0], addr), position(fields[1], line)
            if skip:
                skip = False
                continue
            cost[addr] += int(fields[2])
    return cost


def functions(binary):
    """{start address: (name, [(address, instruction text)])} from objdump."""
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "-C", binary], capture_output=True, text=True, check=True
    ).stdout
    funcs, current = {}, None
    for text in out.splitlines():
        head = re.match(r"^([0-9a-f]+) <(.*)>:$", text)
        if head:
            current = int(head.group(1), 16)
            funcs[current] = (head.group(2), [])
            continue
        ins = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", text)
        if ins and current is not None:
            funcs[current][1].append((int(ins.group(1), 16), ins.group(2)))
    return funcs


def model(body, mcpu):
    """(cycles per iteration, throughput bound) of `body` under llvm-mca."""
    with tempfile.NamedTemporaryFile("w", suffix=".s") as f:
        f.write("\n".join(body) + "\n")
        f.flush()
        out = subprocess.run(
            ["llvm-mca", f"-mcpu={mcpu}", "-iterations=200", f.name], capture_output=True, text=True
        ).stdout
    cycles = re.search(r"Total Cycles:\s+(\d+)", out)
    bound = re.search(r"Block RThroughput:\s+([\d.]+)", out)
    if not cycles or not bound:
        return None
    return int(cycles.group(1)) / 200, float(bound.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("callgrind", help="callgrind output written with --dump-instr=yes")
    ap.add_argument("binary", help="the program callgrind ran")
    ap.add_argument("--function", action="append", default=[], help="part of a function's name (repeatable)")
    ap.add_argument("--functions", type=int, default=3, help="without --function: the N costliest functions")
    ap.add_argument("--top", type=int, default=4, help="groups per function, costliest first")
    ap.add_argument("--mcpu", default="znver3", help="llvm-mca's CPU model")
    args = ap.parse_args()

    cost = self_costs(args.callgrind)
    funcs = functions(args.binary)
    totals = {start: sum(cost.get(a, 0) for a, _ in ins) for start, (_, ins) in funcs.items()}
    if args.function:
        chosen = [s for s, (name, _) in funcs.items() if any(p in name for p in args.function) and totals[s] > 0]
    else:
        chosen = sorted(totals, key=totals.get, reverse=True)[: args.functions]
    if not chosen:
        sys.exit("no executed function matches")
    for start in sorted(chosen, key=totals.get, reverse=True):
        name, ins = funcs[start]
        print(f"{name} at {start:x}: {totals[start] / 1e6:.1f} M instructions executed")
        groups = collections.Counter(cost.get(a, 0) for a, _ in ins if cost.get(a, 0))
        for count, size in sorted(groups.items(), key=lambda g: -g[0] * g[1])[: args.top]:
            body = []
            for a, text in ins:
                if cost.get(a, 0) == count:
                    text = re.sub(r"#.*$", "", re.sub(r"\s*<.*>$", "", text)).strip()
                    if not re.match(r"^(j[a-z]+|nop|data16|cs nop)", text):
                        body.append(text)
            m = model(body, args.mcpu)
            modelled = f"{m[0]:.1f} cycles per run against {m[1]} by throughput" if m else "llvm-mca refused it"
            print(f"  {count:>11,} runs x {size:3d} instructions ({count * size / 1e6:6.1f} M): {modelled}")


if __name__ == "__main__":
    main()
