"""Shared fixtures: the shipped data (loaded once) and the command-line
tool `metaplasticity` named by METAPLASTICITY_BIN, against which the
bindings are compared (the tests that need it skip without it)."""

import csv
import math
import os
import subprocess
from pathlib import Path

import pytest

import metaplasticity as mp


@pytest.fixture(scope="session")
def mnist():
    return mp.datasets.mnist()


@pytest.fixture(scope="session")
def optdigits():
    return mp.datasets.optdigits()


@pytest.fixture(scope="session")
def cli():
    """A function running the tool with arguments; returns its stdout."""
    path = os.environ.get("METAPLASTICITY_BIN")
    if not path:
        pytest.skip(
            "METAPLASTICITY_BIN is not set: build the tool (cargo build --release -p metaplasticity-cli) and set "
            "METAPLASTICITY_BIN=target/release/metaplasticity to compare the bindings with it"
        )
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"METAPLASTICITY_BIN={path} is not an executable file")

    def run(*args):
        done = subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{path} {' '.join(map(str, args))} failed:\n{done.stderr}"
        return done.stdout

    return run


def read_csv(path):
    """A CSV file as (header, rows of strings)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def parse_number(text):
    """A CSV field of meta-train: empty is NaN (a missing value)."""
    return float("nan") if text == "" else float(text)


def same(a, b):
    """Equal floats, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b
