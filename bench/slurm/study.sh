#!/usr/bin/env bash
# An `innmf experiment` study on a Slurm cluster: two job arrays over one output folder on a
# shared file system, the models first, then every other unit once the models are done, then one
# job that collects results.json, REPORT.md and the figures.
#
#   bench/slurm/study.sh submit STUDY DATA OUT N [innmf experiment plan flags...]
#       plans the study (OUT/plan.json), then submits
#         1. `--array=0-(N-1)`: task I runs the I-th of N slices of the models
#            (innmf experiment run-unit --shard I/N --stage models),
#         2. `--array=0-(N-1) --dependency=afterok:<1>`: the rest (--stage rest),
#         3. `--dependency=afterok:<2>`: innmf experiment collect.
#       e.g. bench/slurm/study.sh submit separation /shared/timit /shared/out 64 --pairs 500
#   bench/slurm/study.sh task STAGE OUT
#       what one array task runs (reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT; set them
#       by hand to run a task anywhere).
#   bench/slurm/study.sh collect OUT
#
# Environment: INNMF (the binary, default `innmf` on PATH), SBATCH_ARGS (more sbatch flags, e.g.
# "--partition=cpu --time=04:00:00"), INNMF_CPUS (cores per task, default 2), INNMF_JOBS (units
# run at once per task, default 1), INNMF_STALE_AFTER (seconds before a silent task's claims are
# taken over, default 300).
#
# Safe to resubmit: finished units are skipped, a unit is never computed by two tasks at once
# (claims in OUT/claims/), and a task that dies leaves claims and temporary files that the next
# task to need them takes over or removes. Logs go to OUT/slurm/.
set -euo pipefail

INNMF=${INNMF:-innmf}
CPUS=${INNMF_CPUS:-2}
JOBS=${INNMF_JOBS:-1}
STALE=${INNMF_STALE_AFTER:-300}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

task() {
    local stage=$1 out=$2
    : "${SLURM_ARRAY_TASK_ID:?not an array task (set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)}"
    : "${SLURM_ARRAY_TASK_COUNT:?not an array task (set SLURM_ARRAY_TASK_COUNT)}"
    "$INNMF" --threads "$CPUS" experiment run-unit --out "$out" \
        --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --stage "$stage" \
        --jobs "$JOBS" --stale-after "$STALE"
}

collect() {
    "$INNMF" experiment collect --out "$1"
}

submit() {
    local study=$1 data=$2 out=$3 n=$4
    shift 4
    case $n in '' | *[!0-9]* | 0) echo "N must be a positive integer, got '$n'" >&2; exit 2 ;; esac
    "$INNMF" experiment plan "$study" --data "$data" --out "$out" "$@"
    mkdir -p "$out/slurm"
    local self models rest
    self=$(realpath "$0")
    out=$(realpath "$out")
    # shellcheck disable=SC2086 # SBATCH_ARGS is a list of flags
    models=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=innmf-models --array="0-$((n - 1))" \
        --cpus-per-task="$CPUS" --output="$out/slurm/models-%a.log" \
        --wrap="bash '$self' task models '$out'")
    models=${models%%;*}
    # shellcheck disable=SC2086
    rest=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=innmf-rest --array="0-$((n - 1))" \
        --dependency="afterok:$models" --cpus-per-task="$CPUS" \
        --output="$out/slurm/rest-%a.log" --wrap="bash '$self' task rest '$out'")
    rest=${rest%%;*}
    # shellcheck disable=SC2086
    sbatch --parsable ${SBATCH_ARGS:-} --job-name=innmf-collect --dependency="afterok:$rest" \
        --cpus-per-task=1 --output="$out/slurm/collect.log" --wrap="bash '$self' collect '$out'"
    echo "submitted: models $models, rest $rest (afterok), then collect" >&2
}

case ${1:-} in
    submit) [ $# -ge 5 ] || usage; shift; submit "$@" ;;
    task) [ $# -eq 3 ] || usage; task "$2" "$3" ;;
    collect) [ $# -eq 2 ] || usage; collect "$2" ;;
    *) usage ;;
esac
