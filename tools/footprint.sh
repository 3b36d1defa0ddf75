#!/usr/bin/env bash
# Footprint of the firmware example (firmware/): builds it in release for the
# Cortex-M4F (thumbv7em-none-eabihf), reads the ELF's sections and symbols,
# boots it in QEMU (mps2-an386) with `-icount shift=0` (one instruction per
# nanosecond of virtual time, so its SysTick counts executed instructions) and
# times the same learning step on this machine. Prints Markdown tables:
# flash (with and without the embedded digits), static RAM, peak stack (the
# firmware paints the stack and reports its high-water mark), instructions
# per learning step, and the desktop's time per step, also in passes over the
# weights measured in the same run (benches/common/pass.rs).
#
#     bash tools/footprint.sh               # from anywhere
#     bash tools/footprint.sh --no-desktop  # skip the host timing (saves a build)
#     bash tools/footprint.sh --no-f0       # skip the F^0 comparison build
#
# Needs: rustup target thumbv7em-none-eabihf, qemu-system-arm; readelf
# (binutils) or python3 to read the ELF. Exits non-zero if the firmware fails
# (does not learn, panics or faults) or times out.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DESKTOP=1
F0=1
TIMEOUT=${FOOTPRINT_TIMEOUT:-600}
for arg in "$@"; do
    case $arg in
        --no-desktop) DESKTOP=0 ;;
        --no-f0) F0=0 ;;
        -h | --help)
            sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "footprint.sh: unknown option $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

TARGET=thumbv7em-none-eabihf
ELF=firmware/target/$TARGET/release/firmware
QEMU=(qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic
    -semihosting-config enable=on,target=native -icount shift=0)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

command -v qemu-system-arm >/dev/null || {
    echo "footprint.sh: qemu-system-arm not found (apt-get install -y qemu-system-arm)" >&2
    exit 1
}

# `name size` for every section (`sections`) or symbol (`symbols`) of an ELF,
# sizes in decimal; readelf if present, else a few lines of python.
elf_table() {
    local what=$1 elf=$2
    if command -v readelf >/dev/null && [[ ${FOOTPRINT_ELF_PARSER:-readelf} == readelf ]]; then
        if [[ $what == sections ]]; then
            # "  [ 1] .text  PROGBITS  00000400 010400 0092b4 00  AX  0   0  4"
            readelf -SW "$elf" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '$1 ~ /^\./ { print $1, $5 }' |
                while read -r name size; do echo "$name $((16#$size))"; done
        else
            # "  12: 000096b4 115024 OBJECT  LOCAL  DEFAULT    3 _ZN8firmware16OPTDIGITS_IMAGES17h...E"
            # (large sizes are printed in hex: "0x1c150")
            readelf -sW "$elf" | awk 'NF >= 8 && $1 ~ /^[0-9]+:$/ { print $8, $3 }' |
                while read -r name size; do echo "$name $((size))"; done
        fi
    else
        python3 - "$what" "$elf" <<'PY'
import struct, sys
what, path = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
assert b[:4] == b"\x7fELF" and b[4] == 1, "32-bit ELF expected"
e = "<" if b[5] == 1 else ">"
shoff, = struct.unpack_from(e + "I", b, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", b, 0x2E)
sh = [struct.unpack_from(e + "IIIIIIIIII", b, shoff + i * shentsize) for i in range(shnum)]
def name(tab, off):
    end = b.index(b"\0", tab + off)
    return b[tab + off:end].decode(errors="replace")
if what == "sections":
    strtab = sh[shstrndx][4]
    for s in sh[1:]:
        n = name(strtab, s[0])
        if n.startswith("."):
            print(n, s[5])
else:
    for s in sh:
        if s[1] == 2:  # SHT_SYMTAB
            strtab = sh[s[6]][4]
            for off in range(s[4], s[4] + s[5], 16):
                st_name, value, size, info, other, shndx = struct.unpack_from(e + "IIIBBH", b, off)
                if st_name:
                    print(name(strtab, st_name), size)
PY
    fi
}

section() { awk -v n="$1" '$1 == n { s += $2 } END { print s + 0 }' "$WORK/sections"; }
# Size of the symbol whose (mangled) name contains `$1`.
symbol() { awk -v n="$1" 'index($1, n) { print $2; exit }' "$WORK/symbols"; }
metric() { awk -v n="$1" '$1 == "metric" && $2 == n { print $3; exit }' "$2"; }
# 1234567 -> 1,234,567
commas() { sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/' -e 'ta' <<<"$1"; }

# Runs an ELF in QEMU with -icount; prints `instructions_per_step` from its
# metrics (SysTick ticks calibrated against a loop of known length). With
# `must_pass` = 1 a failing exit status (did not learn, panic, fault) is an
# error; otherwise only a run that did not finish is.
run_qemu() {
    local elf=$1 log=$2 must_pass=$3 rc=0
    timeout "$TIMEOUT" "${QEMU[@]}" -kernel "$elf" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]] && { [[ $must_pass -eq 1 ]] || ! grep -q '^metric steps ' "$log"; }; then
        cat "$log" >&2
        echo "footprint.sh: the firmware exited with status $rc under QEMU ($elf)" >&2
        exit 1
    fi
    local counter ticks steps calib_line calib_n calib
    counter=$(awk '$1 == "metric" && $2 ~ /^step_.*_total$/ { print $2; exit }' "$log")
    ticks=$(metric "$counter" "$log")
    steps=$(metric steps "$log")
    calib_line=$(awk '$1 == "metric" && $2 ~ /^calibration_/ { print $2, $3; exit }' "$log")
    calib_n=$(sed 's/.*_per_\([0-9]*\)_instructions .*/\1/' <<<"$calib_line")
    calib=${calib_line##* }
    awk -v t="$ticks" -v s="$steps" -v n="$calib_n" -v c="$calib" 'BEGIN { printf "%.0f\n", t * n / c / s }'
}

echo "==> building the firmware (release, $TARGET)" >&2
if [[ $F0 -eq 1 ]]; then
    (cd firmware && cargo build --release --features f0 --quiet)
    cp "$ELF" "$WORK/firmware-f0"
fi
(cd firmware && cargo build --release --quiet)

elf_table sections "$ELF" >"$WORK/sections"
elf_table symbols "$ELF" >"$WORK/symbols"
vector=$(section .vector_table)
text=$(section .text)
rodata=$(section .rodata)
data=$(section .data)
bss=$(section .bss)
uninit=$(section .uninit)
flash=$((vector + text + rodata + data))
images=$(symbol OPTDIGITS_IMAGES)
labels=$(symbol OPTDIGITS_LABELS)
digits=$((images + labels))
learner=$((flash - digits))
ram=$((data + bss + uninit))
weights=$(symbol 7WEIGHTS)
feedback=$(symbol 8FEEDBACK)
activity=$(symbol 8ACTIVITY)
order=$(symbol 5ORDER)

echo "==> running it in QEMU (mps2-an386, -icount shift=0)" >&2
insn_bio=$(run_qemu "$ELF" "$WORK/qemu.log" 1)
insn_f0="n/a"
if [[ $F0 -eq 1 ]]; then
    # F^0 is the comparison: it may fail the accuracy check.
    insn_f0=$(run_qemu "$WORK/firmware-f0" "$WORK/qemu-f0.log" 0)
fi
stack=$(metric stack_peak_bytes "$WORK/qemu.log")
step_stack=$(metric step_stack_bytes "$WORK/qemu.log")
accuracy=$(sed -n 's/^final held-out accuracy: //p' "$WORK/qemu.log")
accuracy_f0=""
if [[ $F0 -eq 1 ]]; then
    accuracy_f0=$(sed -n 's/^final held-out accuracy: //p' "$WORK/qemu-f0.log")
fi

desk_bio="n/a" desk_f0="n/a" desk_pass="n/a" desk_pe_bio="n/a" desk_pe_f0="n/a"
cpu=$(sed -n '/^model name/{s/^model name[[:space:]]*: //p;q}' /proc/cpuinfo 2>/dev/null || true)
if [[ $DESKTOP -eq 1 ]]; then
    echo "==> timing the step on this machine (learn_rule --time)" >&2
    cargo run --release --quiet --manifest-path firmware/learn_rule/Cargo.toml -- --time >"$WORK/desktop.log"
    desk_bio=$(sed -n 's/^desktop_step_ns_bio=//p' "$WORK/desktop.log")
    desk_f0=$(sed -n 's/^desktop_step_ns_f0=//p' "$WORK/desktop.log")
    desk_pass=$(sed -n 's/^desktop_pass_ns=//p' "$WORK/desktop.log")
    desk_pe_bio=$(sed -n 's/^desktop_step_passes_bio=//p' "$WORK/desktop.log")
    desk_pe_f0=$(sed -n 's/^desktop_step_passes_f0=//p' "$WORK/desktop.log")
fi
us() { [[ $1 == n/a ]] && echo "n/a" || awk -v n="$1" 'BEGIN { printf "%.2f us", n / 1000 }'; }
at168() { [[ $1 == n/a ]] && echo "n/a" || awk -v n="$1" 'BEGIN { printf "%.2f ms", n / 168e3 }'; }
one() { [[ $1 == n/a ]] && echo "n/a" || awk -v n="$1" 'BEGIN { printf "%.1f", n }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }

cat <<EOF

### Firmware footprint (\`$TARGET\`, release, $(rustc --version | cut -d' ' -f1-2))

Final held-out accuracy under QEMU: F^bio $accuracy${accuracy_f0:+; F^0 $accuracy_f0}.

| memory | bytes | |
|---|---:|---|
| flash, total (\`.vector_table\` + \`.text\` + \`.rodata\` + \`.data\`) | $(commas "$flash") | |
| of which the embedded optdigits (1,797 digits + labels, IDX) | $(commas "$digits") | $(pct "$digits" "$flash") of the flash |
| **flash of the learner** (total without the digits) | **$(commas "$learner")** | \`.text\` $(commas "$text"), \`.rodata\` $(commas $((rodata - digits))), vectors $(commas "$vector") |
| static RAM (\`.data\` + \`.bss\` + \`.uninit\`) | $(commas "$ram") | |
| of which weights / feedback / activity / digit order | $(commas "$weights") / $(commas "$feedback") / $(commas "$activity") / $(commas "$order") | |
| peak stack, whole program (painted stack) | $(commas "$stack") | printing through semihosting included |
| stack reached by learning steps | $(commas "$step_stack") | |
| **RAM, static + peak stack** | **$(commas $((ram + stack)))** | |

| one learning step (64-32-16-10, f32, feedback alignment) | F^bio | F^0 |
|---|---:|---:|
| Cortex-M4F in QEMU (\`-icount\`): instructions per step, mean of 1,397 | $(commas "$insn_bio") | $(commas "$insn_f0") |
| the same at 168 MHz if every instruction took one cycle (about a lower bound) | $(at168 "$insn_bio") | $(at168 "$insn_f0") |
| desktop${cpu:+ ($cpu)}, median of 21 runs | $(us "$desk_bio") | $(us "$desk_f0") |
| the same in passes over the 2,720 weights (\`benches/common/pass.rs\`: $(one "$desk_pass") ns; median of the 21 runs' ratios, each run beside its own runs of passes) | $(one "$desk_pe_bio") | $(one "$desk_pe_f0") |
EOF
