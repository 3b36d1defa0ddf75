#!/usr/bin/env bash
# CI check of tools/ray/reproduce.py: a small study (by default .ci/run's
# sharded check, fig-s6 --trials 2 --episodes 8) run as Ray tasks on a local
# Ray instance with 2 CPUs (one task per trial, then the render) must write
# the same trial files and the same figure and table files as the unsharded
# run in WHOLE_DIR, byte for byte.
#
#   bash tools/ray/ci_ray.sh BIN WHOLE_DIR [EXPERIMENT [reproduce options]]
#
# BIN is the metaplasticity binary; WHOLE_DIR the --out of
#   BIN reproduce EXPERIMENT [reproduce options] --out WHOLE_DIR
# run on a fresh folder. Needs the Python package ray (pip install -r
# tools/ray/requirements.txt); PYTHON picks the interpreter (default
# python3). Exits 1 on any difference.
set -euo pipefail

usage="usage: ci_ray.sh BIN WHOLE_DIR [EXPERIMENT [reproduce options]]"
bin=${1:?$usage}
whole=${2:?$usage}
shift 2
small=("$@")
[[ ${#small[@]} -gt 0 ]] || small=(fig-s6 --trials 2 --episodes 8)
experiment=${small[0]}
python=${PYTHON:-python3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! "$python" -c "import ray" 2>/dev/null; then
    echo "ci_ray.sh: '$python -c \"import ray\"' failed: install Ray first ($python -m pip install -r $here/requirements.txt)" >&2
    exit 1
fi
for d in "$whole/$experiment" "$whole/trials"; do
    [[ -d $d ]] || { echo "ci_ray.sh: no $d: run '$bin reproduce ${small[*]} --out $whole' first" >&2; exit 1; }
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" "$here/reproduce.py" "${small[@]}" --bin "$bin" --num-cpus 2 --out "$out" >/dev/null

# The same files on both sides (names), then the same bytes.
status=0
for sub in trials "$experiment"; do
    if ! diff <(cd "$whole/$sub" && ls) <(cd "$out/$sub" && ls) >&2; then
        echo "ci_ray.sh: $sub/ holds other files under Ray than in $whole (< unsharded, > Ray)" >&2
        status=1
        continue
    fi
    for f in "$whole/$sub"/*; do
        cmp "$f" "$out/$sub/$(basename "$f")" >&2 || status=1
    done
done
if [[ $status -ne 0 ]]; then
    echo "ci_ray.sh: the Ray run differs from the unsharded run" >&2
    exit 1
fi
trials=$(find "$out/trials" -type f | wc -l)
files=$(find "$out/$experiment" -type f | wc -l)
echo "Ray tasks (local, 2 CPUs) give the unsharded run's files: $trials trials, $files $experiment files"
