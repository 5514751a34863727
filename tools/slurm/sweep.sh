#!/bin/sh
# Submits a whole ganomaly_categories sweep to Slurm: a job array with one task per
# category and seed (ganomaly_array.sbatch), all into the same --out, then a job that
# runs `ganomaly_categories --collect OUT --dataset D` once every task has ended (afterany: a failed
# task is then named by collect, not silently left out).
#
#   tools/slurm/sweep.sh [SBATCH_OPTION...] -- GANOMALY_CATEGORIES_ARGS...
#   tools/slurm/sweep.sh --cpus-per-task=4 --time=2:00:00 -- --dataset mvtec --root data/mvtec --seeds 42,43,44 --out runs/sweep
#
# --out must be given, and be a folder every node sees. Prints the two job ids; the
# array tasks' logs go to OUT/logs/, the collect job's to OUT/logs/collect_JOB.log.
# GANOMALY_CATEGORIES names the binary (default build/ganomaly_categories).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${GANOMALY_CATEGORIES:-build/ganomaly_categories}
sbatch_options=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  sbatch_options="$sbatch_options $1"
  shift
done
if [ $# -eq 0 ]; then
  echo "usage: $0 [SBATCH_OPTION...] -- GANOMALY_CATEGORIES_ARGS... (with --out OUT)" >&2
  exit 2
fi
shift
out=""
dataset=""
prev=""
for a in "$@"; do
  case $a in --out=*) out=${a#--out=} ;; --dataset=*) dataset=${a#--dataset=} ;; esac
  if [ "$prev" = "--out" ] || [ "$prev" = "-o" ]; then out=$a; fi
  if [ "$prev" = "--dataset" ]; then dataset=$a; fi
  prev=$a
done
if [ -z "$out" ]; then
  echo "$0: give --out: every task writes into it, and collect reads it" >&2
  exit 2
fi
# The runs, as every task will count them; a bad option fails here, before any job.
tasks=$("$bin" "$@" --list-tasks)
n=$(printf '%s\n' "$tasks" | grep -c .)
mkdir -p "$out/logs"
export GANOMALY_CATEGORIES="$bin"
# shellcheck disable=SC2086  # the sbatch options are words
array=$(sbatch --parsable $sbatch_options --array="0-$((n - 1))" --output="$out/logs/array_%A_%a.log" \
  "$here/ganomaly_array.sbatch" "$@")
array=${array%%;*}
collect=$(sbatch --parsable --dependency="afterany:$array" --job-name=ganomaly-collect --cpus-per-task=1 \
  --output="$out/logs/collect_%j.log" --wrap "\"$bin\" --collect \"$out\"${dataset:+ --dataset $dataset}")
collect=${collect%%;*}
echo "array job $array: $n tasks (one per category and seed), logs in $out/logs/"
echo "collect job $collect: ganomaly_categories --collect $out after the array ends"
