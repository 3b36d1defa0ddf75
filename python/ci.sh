#!/usr/bin/env bash
# CI of the Python bindings: `bash python/ci.sh BIN`, BIN the command-line
# tool `metaplasticity` built from the same sources (the tests compare the
# bindings' numbers with its own).
#
# In a fresh virtual environment in a temporary folder: rustfmt and clippy
# on the bindings' crate, a wheel built with maturin (pinned), the wheel
# installed with pytest (and pandas when it installs), then the tests in
# python/tests run against the installed wheel (from outside the source
# tree, so the source package cannot shadow it). Exits non-zero on any
# failure. Needs python3 (with venv), cargo, and PyPI.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: bash python/ci.sh PATH/TO/metaplasticity" >&2
    exit 2
fi
if [[ ! -x "$1" ]]; then
    echo "error: $1 is not an executable (build it: cargo build --release -p metaplasticity-cli)" >&2
    exit 2
fi
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

MATURIN_VERSION=1.16.0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
say() { echo "--- python/ci.sh: $* ($((SECONDS - start)) s)"; }

# The interpreter the extension is built for: the venv's base interpreter,
# named by a path that stays the same from run to run, so that a warm cargo
# cache is not rebuilt (pyo3's build script reruns when PYO3_PYTHON changes).
base="$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')"
export PYO3_PYTHON="$base"

say "rustfmt and clippy on python/ (its own workspace)"
cargo fmt --manifest-path "$here/Cargo.toml" -- --check
# A target folder of its own: maturin sets pyo3's environment variables
# differently, and each would rebuild the other's pyo3.
CARGO_TARGET_DIR="$here/target/clippy" \
    cargo clippy --manifest-path "$here/Cargo.toml" --release --locked --all-targets -- -D warnings

say "virtual environment in $tmp/venv, maturin $MATURIN_VERSION"
"$base" -m venv "$tmp/venv"
py="$tmp/venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"

say "maturin build --release (wheel into $tmp/wheels)"
(cd "$here" && "$tmp/venv/bin/maturin" build --release --locked --interpreter "$base" --out "$tmp/wheels")

say "pip install the wheel (with numpy) and pytest"
"$py" -m pip install --quiet --disable-pip-version-check "$tmp"/wheels/metaplasticity-*.whl pytest
if timeout 300 "$py" -m pip install --quiet --disable-pip-version-check pandas; then
    echo "pandas installed: records_frame() is tested"
else
    echo "note: pandas did not install; the test of records_frame() with pandas will skip"
fi

say "pytest python/tests against the installed wheel, METAPLASTICITY_BIN=$bin"
cd "$tmp"
"$py" -c 'import metaplasticity, sys; print("testing", metaplasticity.__file__, "on Python", sys.version.split()[0])'
METAPLASTICITY_BIN="$bin" "$py" -m pytest "$here/tests" -p no:cacheprovider -rs
say "done"
