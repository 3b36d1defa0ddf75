#!/usr/bin/env python3
"""Where the firmware's learning step spends its instructions.

Builds firmware/ for the Cortex-M4F with feature `profile` (learning steps
only: the held-out digits are never classified) into
firmware/target/profile, boots it in QEMU (mps2-an386) with
`-d in_asm,exec,nochain`, which prints the instructions of every translated
block once and a line for every execution of a block, and counts each
instruction's executions. Each instruction is attributed to its function and
the functions it was inlined into (llvm-symbolizer --inlining on the ELF's
line tables) and so to a phase of the step. Prints a Markdown table of
instructions per learning step by phase (the run's count over its 1,397
steps), then with --lines N the N source lines that execute most.

Start-up, the firmware's own timing and stack painting around each step,
and printing are counted apart ("outside the steps"). The steps' total is
then set beside the firmware's own count of the steps (SysTick under
`-icount`, as `tools/footprint.sh` reads it); they differ by the few
instructions of the timer's calls that share translated blocks with the
step (0.1% when this was written), and the script fails if they differ by
more than 1%.

Usage: python3 tools/firmware_profile.py [--f0] [--lines N]
  --f0       the firmware's F^0 rule instead of F^bio
  --lines N  also list the N most executed source lines (default 0)

Needs: rustup target thumbv7em-none-eabihf, qemu-system-arm, llvm-symbolizer
(Debian: llvm). Takes about a minute.
"""
import argparse
import collections
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = "thumbv7em-none-eabihf"
QEMU = ["qemu-system-arm", "-cpu", "cortex-m4", "-machine", "mps2-an386", "-nographic",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0"]

# Phases, first match wins, on "innermost < ... < outermost" function names.
# A function that is called rather than inlined shows no caller; of those,
# the software f64 routines belong to the start-up (only the initial
# weights are drawn in f64: every call site of them is in `Init::fill`),
# and memset/memcpy to the step (their call sites are the step's buffers).
PHASES = [
    ("outside the steps (start-up, timing, stack painting, printing)",
     r"painted_up_to|stack_peak|Clock|calibrate|hprint|semihosting|__stext|Reset|cortex_m_rt_main"
     r"|protocol::(init|shuffle)|init_seeded|shuffle_seeded|Dataset::new|parse_|fmt::|Formatter"
     r"|__aeabi_(d|ui2d|ul2d|i2d|l2d)|[a-z]+df3|compiler_builtins::float|<f64>"),
    ("forward: products `W_l y_(l-1)`", r"mul_add|axpy"),
    ("forward: softplus, its slopes, softmax (`libm` included)",
     r"softplus|slopes|softmax|expf|expm1f|log1pf|logf|exp_m1|ln_1p|libm"),
    ("products `M^T v`: feedback `B_l^T e_l`, Oja's `W_l^T yhat_l`", r"tr_mul|dot2|dot_pair|::feedback"),
    ("update: the terms' column coefficients", r"mix_block|PlasticityTerm|scale"),
    ("update: the column sweeps (and their overflow watch)", r"apply|Watch|Sweep"),
    ("update: the rest (blocks, active terms)", r"update_layer|active_terms|update_from"),
    ("memset, memcpy", r"__aeabi_mem|memset|memcpy|compiler_builtins::mem"),
    ("the rest of the step (signals, loss, input, checks)", r"."),
]


def build(f0):
    features = "profile,f0" if f0 else "profile"
    target_dir = ROOT / "firmware" / "target" / "profile"
    subprocess.run(["cargo", "build", "--release", "--features", features, "--target-dir", str(target_dir)],
                   cwd=ROOT / "firmware", check=True)
    return target_dir / TARGET / "release" / "firmware"


def trace(elf):
    """(executions of each instruction address, steps, QEMU's output)."""
    work = pathlib.Path(tempfile.mkdtemp())
    fifo = work / "trace"
    os.mkfifo(fifo)
    out_path = work / "out"
    with open(out_path, "w") as out:
        qemu = subprocess.Popen(QEMU + ["-d", "in_asm,exec,nochain", "-D", str(fifo), "-kernel", str(elf)],
                                stdout=out, stderr=subprocess.STDOUT)
    blocks, runs = {}, collections.Counter()
    current = None
    with open(fifo, errors="replace") as log:
        for line in log:
            if line.startswith("Trace"):
                # "Trace 0: 0x7f.. [00000000/00000400/00000000/ff200000] symbol"
                runs[int(line.split("[", 1)[1].split("/")[1], 16)] += 1
            elif line.startswith("0x"):
                # "0x00000400:  b580       push     {r7, lr}" inside an "IN:" block
                address = int(line.split(":", 1)[0], 16)
                if current is None:
                    current = address
                    blocks[current] = []
                blocks[current].append(address)
            else:
                current = None
    qemu.wait()
    text = out_path.read_text(errors="replace")
    shutil.rmtree(work)
    steps = re.search(r"metric steps (\d+)", text)
    if not steps:
        sys.exit("firmware_profile.py: the firmware did not report its steps:\n" + text)
    counts = collections.Counter()
    for start, n in runs.items():
        for address in blocks.get(start, []):
            counts[address] += n
    return counts, int(steps.group(1)), text


# The escapes that legacy Rust symbol names keep after demangling.
ESCAPES = {"$LT$": "<", "$GT$": ">", "$u7b$": "{", "$u7d$": "}", "$u20$": " ", "$C$": ",", "$RF$": "&",
           "$BP$": "*", "$u27$": "'", "$u5b$": "[", "$u5d$": "]", "$u3b$": ";", "..": "::"}


def readable(name):
    """A demangled name without its hash and legacy escapes."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    for escape, char in ESCAPES.items():
        name = name.replace(escape, char)
    return re.sub(r"^_(?=[<{])", "", name)


def timed_per_step(text, steps):
    """Instructions per step by the firmware's timer: its ticks over the
    ticks of its calibration loop of known length."""
    ticks = re.search(r"metric step_\w+_total (\d+)", text)
    calibration = re.search(r"metric calibration_\w+_per_(\d+)_instructions (\d+)", text)
    if not (ticks and calibration):
        sys.exit("firmware_profile.py: the firmware did not report its timing:\n" + text)
    per_tick = int(calibration.group(1)) / int(calibration.group(2))
    return int(ticks.group(1)) * per_tick / steps


def symbolize(elf, addresses):
    """For each address, (functions innermost first, the innermost source
    line of this repository as "path:line (function)")."""
    result = subprocess.run(["llvm-symbolizer", "--inlining", "--functions=linkage", "--demangle", "-e", str(elf)],
                            input="\n".join(f"0x{a:x}" for a in addresses), capture_output=True, text=True,
                            check=True)
    out = []
    for block in result.stdout.strip("\n").split("\n\n"):
        lines = block.split("\n")
        names = [readable(n) for n in lines[0::2]]
        own = "(no line of this repository)"
        for name, where in zip(names, lines[1::2]):
            if where.startswith(str(ROOT) + "/"):
                path, line = where[len(str(ROOT)) + 1:].rsplit(":", 2)[:2]
                own = f"{path}:{line} (`{name.rsplit('::', 1)[-1]}`)"
                break
        out.append((names, own))
    return out


def phase(names):
    chain = " < ".join(names)
    return next(name for name, pattern in PHASES if re.search(pattern, chain))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--f0", action="store_true", help="the F^0 rule instead of F^bio")
    parser.add_argument("--lines", type=int, default=0, help="list the N most executed source lines")
    args = parser.parse_args()
    for tool in ("qemu-system-arm", "llvm-symbolizer", "cargo"):
        if shutil.which(tool) is None:
            sys.exit(f"firmware_profile.py: {tool} not found (see --help)")
    elf = build(args.f0)
    counts, steps, text = trace(elf)
    addresses = sorted(counts)
    where = symbolize(elf, addresses)
    by_phase, by_line = collections.Counter(), collections.Counter()
    for address, (names, line) in zip(addresses, where):
        p = phase(names)
        by_phase[p] += counts[address]
        if p != PHASES[0][0]:
            by_line[line] += counts[address]
    inside = sum(v for k, v in by_phase.items() if k != PHASES[0][0])
    timed = timed_per_step(text, steps)
    rule = "F^0" if args.f0 else "F^bio"
    print(f"Instructions per learning step of `{rule}` by phase ({steps} steps; QEMU `-icount`, "
          f"`tools/firmware_profile.py{' --f0' if args.f0 else ''}`):")
    print()
    print("| phase | instructions per step | share of the steps |")
    print("|---|---:|---:|")
    for name, _ in PHASES[1:]:
        if by_phase[name]:
            print(f"| {name} | {by_phase[name] / steps:,.0f} | {by_phase[name] / inside:.1%} |")
    print(f"| **the steps** | **{inside / steps:,.0f}** | 100% |")
    print(f"| {PHASES[0][0]}, per step | {by_phase[PHASES[0][0]] / steps:,.0f} | |")
    print()
    print(f"The firmware's own timer (SysTick, calibrated to instructions) counts {timed:,.0f} per step.")
    if abs(inside / steps - timed) > 0.01 * timed:
        sys.exit("firmware_profile.py: the steps' total is more than 1% away from the timed steps: "
                 "the phases' patterns no longer separate the steps from the rest")
    if args.lines:
        print()
        print("| innermost source line of this repository (its function) | instructions per step |")
        print("|---|---:|")
        for line, n in by_line.most_common(args.lines):
            print(f"| {line} | {n / steps:,.0f} |")


if __name__ == "__main__":
    main()
