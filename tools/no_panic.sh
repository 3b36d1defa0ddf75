#!/usr/bin/env bash
# The no-panic proof (docs/NO_PANIC.md): builds no_panic/ in release (fat
# LTO) with a panic handler that calls a function defined nowhere, so the
# link succeeds only if no panic is reachable from the online step
# (`step`, `step_loaded`), its adjoint (`step_adjoint`, `loss_adjoint`) and
# the rule-file reader (`RuleFile::decode`, `check_shape`, `rule`) for the
# 64-32-16-10 network in f32 and f64, twice: with the desktop's kernels and
# with the forms that targets without vector units compile (`--cfg
# metaplasticity_scalar_kernels`, what a Cortex-M4F runs). Then runs the
# binary on a valid rule file (written by `metaplasticity::deploy::encode`),
# on damaged ones and on garbage, and checks what it reports; and runs
# rustfmt and clippy on it.
#
#     bash tools/no_panic.sh            # from anywhere
#     bash tools/no_panic.sh --locate   # only list the panic sites
#
# If the link fails, the script builds the `locate` variant (a real panic
# handler) and lists every call into core's panic functions that survived,
# with the source line and its inlined callers (addr2line); fix those lines.
# Needs: x86_64 Linux, objdump and addr2line (binutils) for the listing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOCATE_ONLY=0
for arg in "$@"; do
    case $arg in
        --locate) LOCATE_ONLY=1 ;;
        -h | --help)
            sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "no_panic.sh: unknown option $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
    echo "no_panic.sh: the no_panic link check builds for x86_64 Linux only" >&2
    exit 1
fi

MANIFEST=no_panic/Cargo.toml
BIN=no_panic/target/release/no_panic
# The environment of the build being proven (empty: the desktop's kernels).
BUILD_ENV=()
# The kernels in the forms that targets without vector units take (a
# Cortex-M4F: `kernel::SCALAR`), proven in a second build.
SCALAR_DIR=no_panic/target/scalar-kernels
START=$SECONDS
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Lists the calls into core's panic machinery left in the `locate` build,
# one line per source site (innermost line of this repository, then its
# inlined callers), most frequent first.
locate() {
    echo "==> ${BUILD_ENV[*]} cargo build --release --manifest-path $MANIFEST --features locate"
    env "${BUILD_ENV[@]}" cargo build --release --manifest-path "$MANIFEST" --features locate
    for tool in objdump addr2line; do
        command -v "$tool" >/dev/null || {
            echo "no_panic.sh: $tool not found (apt-get install -y binutils) to list the panic sites" >&2
            return 1
        }
    done
    # "  401234:	call   401000 <core::panicking::panic_bounds_check>", in
    # a function that is not itself part of core's panic machinery.
    objdump -d --no-show-raw-insn -C "$BIN" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); next }
        /(call|jmp)[ \t]+[0-9a-f]+ <(core::panicking::|core::slice::index::|core::option::|core::result::|core::cell::panic|[^>]*unwrap_failed|[^>]*expect_failed|[^>]*len_mismatch_fail|[^>]*_fail>|rust_begin_unwind)/ {
            if (fn ~ /^(core::|rust_begin_unwind)/) next
            addr = $1; sub(/:$/, "", addr)
            tgt = $0; sub(/.*</, "", tgt); sub(/>.*/, "", tgt)
            print addr "\t" tgt
        }' >"$WORK/sites"
    local n
    n=$(wc -l <"$WORK/sites")
    if [[ $n -eq 0 ]]; then
        echo "no panic call sites found in the locate build"
        return 0
    fi
    echo "$n call sites into core's panic functions (count, source line <- inlined callers, panic function):"
    cut -f1 "$WORK/sites" | addr2line -a -f -i -C -e "$BIN" | awk -v root="$PWD/" '
        /^0x/ { if (seen) print chain; chain = ""; seen = 1; next }
        { getline loc; if (index(loc, root) == 1) { l = substr(loc, length(root) + 1); chain = chain (chain == "" ? "" : " <- ") l } }
        END { if (seen) print chain }' >"$WORK/lines"
    paste "$WORK/lines" <(cut -f2 "$WORK/sites") | awk -F'\t' '{ print ($1 == "" ? "(no line)" : $1) "   [" $2 "]" }' |
        sort | uniq -c | sort -rn
}

if [[ $LOCATE_ONLY -eq 1 ]]; then
    locate
    exit 0
fi

echo "==> rustfmt and clippy on no_panic/"
cargo fmt --manifest-path "$MANIFEST" -- --check
cargo clippy --manifest-path "$MANIFEST" -- -D warnings
cargo clippy --manifest-path "$MANIFEST" --features locate -- -D warnings

# The proof: builds $BIN with $BUILD_ENV and fails unless it linked
# without any panic function.
prove() {
    echo "==> the proof: ${BUILD_ENV[*]} cargo build --release --manifest-path $MANIFEST (links only if no panic is reachable)"
    if ! env "${BUILD_ENV[@]}" cargo build --release --manifest-path "$MANIFEST" 2>"$WORK/build.log"; then
        cat "$WORK/build.log" >&2
        if grep -q metaplasticity_panic_is_reachable "$WORK/build.log"; then
            echo >&2
            echo "no_panic.sh: FAILED: a panic is reachable from the covered functions (the link needs" >&2
            echo "metaplasticity_panic_is_reachable, which the panic handler calls). The sites:" >&2
            locate >&2 || true
            echo >&2
            echo "Fix each line above (see docs/NO_PANIC.md for the patterns); rerun with --locate to list them again." >&2
        else
            echo "no_panic.sh: FAILED: the no_panic build failed for another reason (above)" >&2
        fi
        exit 1
    fi
    if command -v file >/dev/null 2>&1; then
        file "$BIN"
    fi
    # The symbols go to a file first: `nm | grep -q` under pipefail fails when
    # grep stops reading early (nm then dies of SIGPIPE), which would pass a
    # binary that does hold panic functions.
    if command -v nm >/dev/null 2>&1 && nm "$BIN" >"$WORK/symbols" &&
        grep -q -e rust_begin_unwind -e panic_fmt -e panic_bounds_check "$WORK/symbols"; then
        echo "no_panic.sh: FAILED: the binary linked but still holds panic functions:" >&2
        nm -C "$BIN" | grep -e rust_begin_unwind -e panic_fmt -e panic_bounds_check >&2
        exit 1
    fi
    echo "linked: no panic is reachable"
}

prove

# Runs the binary on the file $2 and checks its exit status ($3) and that
# its report contains the text $4 (for both f32 and f64).
FAILS=0
run_case() {
    local name=$1 input=$2 status=$3 expect=$4 got=0
    "$BIN" <"$input" >"$WORK/out" 2>&1 || got=$?
    local found
    found=$(grep -c -F -- "$expect" "$WORK/out" || true)
    if [[ $got -eq $status && $found -eq 2 ]]; then
        echo "ok: $name: exit $got, $expect"
    else
        echo "FAILED: $name: exit $got (expected $status), \"$expect\" on $found of 2 lines; output:"
        cat "$WORK/out"
        FAILS=$((FAILS + 1))
    fi
}

echo "==> running it"
"$BIN" emit pool >"$WORK/pool.mprl"
"$BIN" emit bio >"$WORK/bio.mprl"
"$BIN" emit other-shape >"$WORK/other.mprl"
"$BIN" <"$WORK/pool.mprl" | sed 's/^/    /'
run_case "valid rule file, the pool F^0..F^9" "$WORK/pool.mprl" 0 "rule_file=ok beta=ok file_step=ok file_step_adjoint=ok"
run_case "valid rule file, F^bio with F^2 on layer 2" "$WORK/bio.mprl" 0 "rule_file=ok beta=ok file_step=ok file_step_adjoint=ok"
run_case "rule file for another shape" "$WORK/other.mprl" 2 "rule_file=Shape"
: >"$WORK/empty"
run_case "empty input" "$WORK/empty" 2 "rule_file=Truncated"
head -c 20 "$WORK/pool.mprl" >"$WORK/truncated"
run_case "truncated rule file" "$WORK/truncated" 2 "rule_file=Truncated"
{ cat "$WORK/pool.mprl"; printf 'x'; } >"$WORK/trailing"
run_case "trailing byte" "$WORK/trailing" 2 "rule_file=TrailingBytes"
# Flip one bit of the first coefficient: the checksum no longer matches.
size=$(wc -c <"$WORK/pool.mprl")
{ head -c 40 "$WORK/pool.mprl"; printf '\xff'; tail -c $((size - 41)) "$WORK/pool.mprl"; } >"$WORK/corrupt"
run_case "corrupt rule file" "$WORK/corrupt" 2 "rule_file=Checksum"
{ printf 'MPRL\x02\x00'; tail -c +7 "$WORK/pool.mprl"; } >"$WORK/version"
run_case "other version" "$WORK/version" 2 "rule_file=Version"
head -c 1000 /dev/urandom >"$WORK/random"
run_case "1000 random bytes" "$WORK/random" 2 "rule_file=BadMagic"
for i in 1 2 3 4 5; do
    { printf 'MPRL\x01\x00'; head -c $((i * 37)) /dev/urandom; } >"$WORK/random$i"
    "$BIN" <"$WORK/random$i" >"$WORK/out" 2>&1 || got=$?
    if [[ ${got:-0} -ne 2 ]] || ! grep -q "rule_file=" "$WORK/out"; then
        echo "FAILED: random body $i: exit ${got:-0}; output:"
        cat "$WORK/out"
        FAILS=$((FAILS + 1))
    else
        echo "ok: random body of $((i * 37)) bytes after a valid magic: exit 2, $(grep -o -m 1 'rule_file=[A-Za-z]*' "$WORK/out")"
    fi
    got=0
done

# The same proof and the valid files' runs with the scalar kernels.
BIN=$SCALAR_DIR/release/no_panic
BUILD_ENV=(CARGO_TARGET_DIR="$SCALAR_DIR" RUSTFLAGS="--cfg metaplasticity_scalar_kernels")
prove
run_case "scalar kernels: valid rule file, the pool F^0..F^9" "$WORK/pool.mprl" 0 "rule_file=ok beta=ok file_step=ok file_step_adjoint=ok"
run_case "scalar kernels: valid rule file, F^bio with F^2 on layer 2" "$WORK/bio.mprl" 0 "rule_file=ok beta=ok file_step=ok file_step_adjoint=ok"

if [[ $FAILS -ne 0 ]]; then
    echo "no_panic.sh: FAILED: $FAILS run(s) did not report what they should"
    exit 1
fi
echo "no_panic.sh: ok: no panic is reachable, and every run reported as expected ($((SECONDS - START)) s)"
