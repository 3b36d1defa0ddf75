#!/usr/bin/env python3
"""Run one `metaplasticity reproduce` experiment as Ray tasks.

The meta-training trials of the experiment are dealt out to N shards; each
shard is one Ray task (`@ray.remote(num_cpus=C)`) that runs

    BIN reproduce EXPERIMENT --shard K/N --jobs C --out OUT [reproduce options]

into the trial cache of OUT, and once every shard has finished one more task
runs

    BIN reproduce EXPERIMENT --render --jobs C --out OUT [reproduce options]

which draws the figures and tables from that cache. N is by default the
number of trials, as the binary prints it on a first `--shard` call that
gets no trial (and so runs nothing). The binary decides which
trials a shard runs (trial i to shard i mod N) and writes every trial to
OUT/trials/<key>.csv, so the files are the ones an unsharded run on one
machine writes, byte for byte, whatever N, C and the number of machines
(`tools/ray/ci_ray.sh` checks it in CI). A run that stopped half-way can be
started again with the same command: trials already in the cache are read
back, not run again.

    python3 tools/ray/reproduce.py fig-s6 --trials 2 --episodes 8 --num-cpus 2 \\
        --bin target/release/metaplasticity --out /tmp/fig-s6

On a Ray cluster (`ray start --head` on one node, `ray start --address=...`
on the others), run it on the head node with `--address auto` and an OUT on
a file system that every node sees; the binary must be on every node (at the
same path, or on PATH), and so must the DejaVu fonts for the PNG plots.

Requires only Ray core (`pip install -r tools/ray/requirements.txt`, or
`pip install ray`), no other package. If the cluster uses Ray's token
authentication, the driver needs the cluster's token (RAY_AUTH_MODE=token
and ~/.ray/auth_token, or RAY_AUTH_TOKEN), as any Ray driver does.
"""

import argparse
import csv
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

# Options of `metaplasticity reproduce` that this program sets itself.
OWN = ("--shard", "--render", "--out", "--jobs")

# A shard number no experiment has that many trials (10,000 trials per arm
# at most): `--shard PROBE-1/PROBE` runs no trial and prints the plan.
PROBE = 1_000_000_000

# What `--shard K/N` prints first (cli/src/reproduce/mod.rs, trials::describe).
PLAN = re.compile(r"of the trials of (\d+) trials x (\d+) episodes of:(.*)$", re.MULTILINE)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="tools/ray/reproduce.py",
        usage="%(prog)s EXPERIMENT [options] [metaplasticity reproduce options]",
        description=__doc__,
        epilog=textwrap.fill(
            "Any option not listed above goes to `metaplasticity reproduce` unchanged, for the shards and the "
            "render alike (e.g. --trials 20 --episodes 600, --quick, --lambda 1; give vector options "
            "space-separated: --bio-theta 0.01 -0.03 0.004). --shard, --render, --jobs and --out are set by "
            "this program. See `metaplasticity reproduce --help`."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument(
        "experiment", help="the experiment to run (fig-s6, fig-s2, all, ...: as for metaplasticity reproduce)"
    )
    p.add_argument(
        "--bin",
        default="metaplasticity",
        help="the metaplasticity binary, on every node of the cluster: a path (made absolute) or a name looked "
        "up on each worker's PATH (default: metaplasticity)",
    )
    p.add_argument(
        "--out",
        default="out/reproduce",
        help="output folder, passed as --out to every task (made absolute; on a cluster, on a file system "
        "every node sees) (default: out/reproduce)",
    )
    p.add_argument(
        "--shards",
        type=positive,
        default=None,
        help="number of shards N, each one Ray task (default: one shard per meta-training trial, as the "
        "binary counts them for the given options)",
    )
    p.add_argument(
        "--cpus-per-task",
        type=positive,
        default=1,
        metavar="C",
        help="CPUs each task reserves from Ray and passes to the binary as --jobs (default: 1)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="connect to this Ray cluster (ray.init(address=...): 'auto' on a node of a running cluster, or "
        "host:port) instead of starting a local Ray instance",
    )
    p.add_argument(
        "--num-cpus",
        type=positive,
        default=None,
        help="CPUs of the local Ray instance, which this program starts (ray.init(address='local', "
        "num_cpus=...)) and stops, even where a Ray cluster runs already; ignored with --address "
        "(default: all cores)",
    )
    args, extra = p.parse_known_args(argv)
    for a in extra:
        name = a.split("=", 1)[0]
        if name in OWN:
            p.error(
                f"{name} is set by this program (--shard K/N for each shard task, --render for the last "
                f"task, --jobs from --cpus-per-task); leave it out"
            )
    args.extra = extra
    return args


def positive(s):
    n = int(s)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{s} is not at least 1")
    return n


def run_binary(cmd):
    """Runs one command on a worker; what it returns is all the driver sees."""
    import socket

    start = time.monotonic()
    try:
        done = subprocess.run(cmd, check=False, capture_output=True, text=True)
        code, out, err = done.returncode, done.stdout, done.stderr
    except OSError as e:  # no such binary on this node, say
        code, out, err = 127, "", f"cannot run {cmd[0]}: {e}"
    return {
        "cmd": cmd,
        "returncode": code,
        "stdout": out,
        "stderr": err,
        "seconds": time.monotonic() - start,
        "host": socket.gethostname(),
    }


def probe(head, tail):
    """Runs `head --out TMP tail` (a `--shard PROBE-1/PROBE` call) in a fresh temporary folder TMP."""
    out = tempfile.mkdtemp(prefix="metaplasticity-probe-")
    try:
        return run_binary(head + ["--out", out] + tail)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def outputs(folders):
    """The files under `folders`: (path, bytes, data rows if a CSV else None)."""
    found = []
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                continue
            rows = None
            if name.endswith(".csv"):
                with open(path, newline="") as f:
                    rows = max(sum(1 for _ in csv.reader(f)) - 1, 0)  # less the header
            found.append((path, os.path.getsize(path), rows))
    return found


def render(cmd, out, experiment):
    """The render call, then what it wrote (read where the files are)."""
    result = run_binary(cmd)
    result["files"] = []
    if result["returncode"] == 0:
        names = [experiment] if experiment != "all" else sorted(n for n in os.listdir(out) if n != "trials")
        result["files"] = outputs(os.path.join(out, n) for n in names)
    return result


def log(msg):
    print(f"[ray] {msg}", file=sys.stderr, flush=True)


def failed(what, r):
    tail = "\n".join(r["stderr"].strip().splitlines()[-20:])
    return f"{what} failed with exit code {r['returncode']} on {r['host']}:\n  {' '.join(r['cmd'])}\n{tail}"


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import ray
    except ImportError:
        sys.exit("tools/ray/reproduce.py: the Python package ray is not installed (pip install ray)")

    binary = os.path.abspath(args.bin) if os.sep in args.bin else args.bin
    out = os.path.abspath(args.out)
    base = [binary, "reproduce", args.experiment]
    # Our options before the pass-through ones: a vector option such as
    # --bio-theta takes the words after it.
    jobs = ["--jobs", str(args.cpus_per_task)]

    clock = time.monotonic()
    if args.address:
        ray.init(address=args.address, logging_level=logging.WARNING)
    else:
        ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    up = time.monotonic() - clock
    cpus = int(ray.cluster_resources().get("CPU", 0))
    widest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
    if args.cpus_per_task > widest:  # Ray would wait for such a node for ever
        raise RuntimeError(f"--cpus-per-task {args.cpus_per_task}: no Ray node has that many CPUs (at most {widest:g})")
    task = ray.remote(num_cpus=args.cpus_per_task)

    # How many trials: a shard that gets none prints the plan and exits.
    r = ray.get(task(probe).remote(base + ["--shard", f"{PROBE - 1}/{PROBE}"] + jobs, args.extra))
    if r["returncode"] != 0:
        raise RuntimeError(failed("planning (a --shard call that runs no trial)", r))
    plan = PLAN.search(r["stderr"])
    if plan is None and args.shards is None:
        raise RuntimeError(f"cannot read the number of trials from the binary's output; give --shards N\n{r['stderr']}")
    trials = int(plan.group(1)) * len(set(plan.group(3).split())) if plan else None
    # No trial (note-4, say): nothing to shard, the render does the work.
    shards = 0 if trials == 0 else args.shards or trials
    log(
        f"{args.experiment}: {trials if trials is not None else '?'} trials in {shards} shards, "
        f"{args.cpus_per_task} CPU each, on {cpus} CPUs ({args.address or 'local Ray'}); out {out}"
    )

    # The shards, as Ray tasks; report each as it ends.
    pending = {
        task(run_binary).remote(base + ["--shard", f"{k}/{shards}"] + jobs + ["--out", out] + args.extra): k
        for k in range(shards)
    }
    failures, busy = [], 0.0  # busy: the shard tasks' times added up
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        k = pending.pop(ready[0])
        r = ray.get(ready[0])
        busy += r["seconds"]
        if r["returncode"] != 0:
            failures.append((k, failed(f"shard {k}/{shards}", r)))
            log(f"shard {k}/{shards} FAILED on {r['host']} ({len(failures)} so far)")
        else:
            log(f"shard {k}/{shards} done in {r['seconds']:.1f} s on {r['host']} ({len(pending)} to go)")
    if failures:
        raise RuntimeError(
            f"{len(failures)} of {shards} shards failed (trials that ended are cached: run the same "
            f"command again to retry the others)\n\n" + "\n\n".join(m for _, m in sorted(failures))
        )
    sharded = time.monotonic() - clock

    # One render from the cache.
    r = ray.get(task(render).remote(base + ["--render"] + jobs + ["--out", out] + args.extra, out, args.experiment))
    if r["returncode"] != 0:
        raise RuntimeError(failed("render", r))
    sys.stdout.write(r["stdout"])
    wall = time.monotonic() - clock
    for path, size, rows in r["files"]:
        log(f"  {os.path.relpath(path, out)}: {size} bytes" + (f", {rows} rows" if rows is not None else ""))
    log(
        f"done: Ray up in {up:.1f} s, {shards} shards in {sharded - up:.1f} s (tasks {busy:.1f} s added up), render "
        f"{r['seconds']:.1f} s, wall {wall:.1f} s; files in {out}"
    )
    ray.shutdown()


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        sys.exit(f"tools/ray/reproduce.py: {e}")
