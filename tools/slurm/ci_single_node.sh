#!/usr/bin/env bash
# CI: run tools/slurm/reproduce.sbatch on a real, single-node Slurm started
# here (slurmctld + slurmd, and munged for authentication, all in a temporary
# folder and stopped on exit), as a 3-task job array and then the render job,
# and check that the rendered files equal an unsharded run's byte for byte.
#
#   bash tools/slurm/ci_single_node.sh BIN [WHOLE_OUT [EXPERIMENT OPTIONS...]]
#
# BIN is the metaplasticity binary. WHOLE_OUT is the --out folder of an
# unsharded `BIN reproduce EXPERIMENT OPTIONS --out WHOLE_OUT` run made with
# the same EXPERIMENT OPTIONS (default: fig-s6 --trials 2 --episodes 8); when
# it is missing or empty, this script makes that run itself.
#
# Installs nothing (Debian: apt-get install slurm-wlm, which brings munge).
# Needs root (slurmd). When Slurm is not installed, or the daemons do not come
# up within 30 s, it says "skipped: ..." and why, and exits 0. It exits 1 if
# a job fails or any file differs. SLURM_CI_AUTH=munge|none picks the
# authentication (default: munge if munged is installed, else auth/none, a
# plugin that bookworm's Slurm 22.05 ships and newer Slurm may not).
set -euo pipefail

usage="usage: ci_single_node.sh BIN [WHOLE_OUT [EXPERIMENT OPTIONS...]]"
bin=${1:?$usage}
whole=${2:-}
shift $(($# >= 2 ? 2 : 1))
if [[ $# -eq 0 ]]; then
    set -- fig-s6 --trials 2 --episodes 8
fi
args=("$@")
experiment=${args[0]}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sbatch_script="$here/reproduce.sbatch"

skip() {
    echo "skipped: the job array on a single-node Slurm: $*"
    exit 0
}

[[ -x $bin ]] || { echo "ci_single_node.sh: $bin is not an executable" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

for c in slurmctld slurmd sbatch sinfo scontrol scancel; do
    command -v "$c" >/dev/null 2>&1 || skip "no $c on this machine (Debian: apt-get install slurm-wlm)"
done
[[ $(id -u) -eq 0 ]] || skip "slurmd needs root, and this runs as $(id -un)"

auth=${SLURM_CI_AUTH:-}
if [[ -z $auth ]]; then
    if command -v munged >/dev/null 2>&1; then
        auth=munge
    else
        auth=none
    fi
fi
case $auth in
    munge) command -v munged >/dev/null 2>&1 || skip "no munged on this machine (Debian: apt-get install munge)" ;;
    none)
        compgen -G "/usr/lib/*/slurm*/auth_none.so" >/dev/null ||
            compgen -G "/usr/lib*/slurm*/auth_none.so" >/dev/null ||
            skip "no munged, and this Slurm has no auth/none plugin"
        ;;
    *) echo "ci_single_node.sh: SLURM_CI_AUTH must be munge or none, not $auth" >&2; exit 2 ;;
esac

# Nothing from a surrounding Slurm job or the caller's sbatch defaults.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN)_' || true)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/slurm-ci.XXXXXX")"
chmod 755 "$tmp"
mkdir -p "$tmp"/{state,spool,log,munge,jobs}
pids=()
daemons=()
jobs_submitted=()
ok=0
cleanup() {
    set +e
    for j in ${jobs_submitted[@]+"${jobs_submitted[@]}"}; do
        scancel "$j" >/dev/null 2>&1
    done
    # Reverse order: slurmd, slurmctld, munged.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null
    done
    for p in ${pids[@]+"${pids[@]}"}; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [[ $ok -eq 1 ]]; then
        rm -rf "$tmp"
    else
        echo "(the Slurm state, logs and outputs are kept in $tmp)"
    fi
}
trap cleanup EXIT

show_logs() {
    # A daemon's log file, or its stderr if it died before opening it.
    local d f
    for d in munged slurmctld slurmd; do
        for f in "$tmp/log/$d.log" "$tmp/log/$d.out"; do
            [[ -s $f ]] || continue
            echo "--- $f (last 15 lines)"
            tail -n 15 "$f"
            break
        done
    done
}

# Two free TCP ports for slurmctld and slurmd (a Slurm already running on
# this machine keeps 6817/6818).
port_free() { ! (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=16817
while ! port_free "$ctld_port" || ! port_free $((ctld_port + 1)); do
    ctld_port=$((ctld_port + 2))
    [[ $ctld_port -lt 16917 ]] || skip "no free pair of TCP ports in 16817-16917"
done

node="$(hostname -s 2>/dev/null || uname -n)"
node=${node%%.*}

if [[ $auth == munge ]]; then
    socket="$tmp/munge/munge.socket"
    dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$tmp/munge/munge.key"
    munged --foreground --force --socket="$socket" --key-file="$tmp/munge/munge.key" \
        --log-file="$tmp/log/munged.log" --pid-file="$tmp/munge/munged.pid" \
        --seed-file="$tmp/munge/munged.seed" >"$tmp/log/munged.out" 2>&1 &
    pids+=($!)
    daemons+=(munged)
    auth_conf="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket"
else
    auth_conf="AuthType=auth/none
CredType=cred/none"
fi

export SLURM_CONF="$tmp/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
$auth_conf
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

t0=$SECONDS
if [[ $auth == munge ]]; then
    for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
    if ! munge -n -S "$socket" | unmunge -S "$socket" >/dev/null 2>&1; then
        show_logs
        skip "munged did not come up (logs above)"
    fi
fi
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
daemons+=(slurmctld)
slurmd -D -N "$node" -f "$SLURM_CONF" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
daemons+=(slurmd)
up=0
dead=
for _ in $(seq 60); do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[i]}" 2>/dev/null; then
            dead=${daemons[i]}
            break 2
        fi
    done
    if [[ $(sinfo -h -n "$node" -o %T 2>/dev/null) == idle ]]; then
        up=1
        break
    fi
    sleep 0.5
done
if [[ $up -ne 1 ]]; then
    show_logs
    if [[ -n $dead ]]; then
        skip "$dead exited at start-up, $auth authentication (logs above)"
    fi
    skip "slurmctld and slurmd ($auth authentication) did not bring node $node up within 30 s (logs above)"
fi
echo "single-node Slurm up in $((SECONDS - t0)) s: $(sinfo --version), node $node, 2 CPUs, $auth authentication"

ok_job() {
    # sbatch --wait exits with the job's exit code (an array's highest one).
    local what=$1
    shift
    local out rc=0
    out="$(timeout 900 sbatch --parsable --wait --export=ALL --chdir="$tmp/jobs" "$@")" || rc=$?
    jobs_submitted+=("${out%%;*}")
    if [[ $rc -ne 0 ]]; then
        echo "error: the $what job (${out%%;*}) failed (sbatch exit $rc); its output:" >&2
        tail -n 20 "$tmp"/jobs/*.out >&2 || true
        show_logs >&2
        exit 1
    fi
    last_job=${out%%;*}
}

export METAPLASTICITY_BIN="$bin"
export METAPLASTICITY_OUT="$tmp/sharded"
t0=$SECONDS
ok_job "shard array" --array=0-2 --output="$tmp/jobs/shard-%A_%a.out" \
    "$sbatch_script" shard "${args[@]}"
echo "job array $last_job (3 shards of ${args[*]}) done in $((SECONDS - t0)) s"
t1=$SECONDS
ok_job render --dependency=afterok:"$last_job" --output="$tmp/jobs/render-%j.out" \
    "$sbatch_script" render "${args[@]}"
echo "render job $last_job done in $((SECONDS - t1)) s"

if [[ -z $whole || -z "$(ls -A "$whole/$experiment" 2>/dev/null)" ]]; then
    whole="$tmp/whole"
    "$bin" reproduce "${args[@]}" --out "$whole" >/dev/null
fi
sharded="$METAPLASTICITY_OUT/$experiment"
files="$(cd "$whole/$experiment" && find . -type f | sort)"
if [[ -z $files ]]; then
    echo "error: no files in $whole/$experiment" >&2
    exit 1
fi
if [[ "$(cd "$sharded" && find . -type f | sort)" != "$files" ]]; then
    echo "error: $sharded and $whole/$experiment hold different files:" >&2
    diff <(echo "$files") <(cd "$sharded" && find . -type f | sort) >&2 || true
    exit 1
fi
differ=0
while IFS= read -r f; do
    cmp "$whole/$experiment/$f" "$sharded/$f" >&2 || differ=1
done <<<"$files"
if [[ $differ -ne 0 ]]; then
    echo "error: the job array's $experiment/ differs from the unsharded run's ($whole/$experiment)" >&2
    exit 1
fi
echo "the job array on Slurm and --render give the unsharded run's files ($(echo "$files" | wc -l) files in $experiment/)"
ok=1
