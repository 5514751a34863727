#!/bin/sh
# make test-slurm: the job array recipe end to end on a one-node Slurm started here
# (local_cluster.sh): a tiny generated BTAD set (two categories), two seeds, four array
# tasks and the collect job through sweep.sh; then checks that collect built the
# results from all four, and that each task's model.gnm is byte for byte the one a
# plain one-thread run of ganomaly_categories trains. Needs root and Debian's
# slurmctld, slurmd, slurm-client and munge. Usage: tools/slurm/test_slurm.sh [BUILD]
set -eu
build=${1:-build}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work="$build/slurm-test"
cluster="$build/slurm"
rm -rf "$work"
mkdir -p "$work"
for c in 01 02; do
  "$build/ganomaly_make_data" --layout btad --category "$c" --kind "$([ $c = 01 ] && echo part || echo wood)" \
    --size 32 --train 12 --test-good 4 --test-bad 4 --out "$work/data" >/dev/null
done
tiny="--dataset btad --root $work/data --seeds 1,2 --image-size 32 --n-features 8 --latent-size 8 --epochs 2 --min-steps 0 --batch-size 4"

"$here/local_cluster.sh" start "$cluster"
trap '"$here/local_cluster.sh" stop "$cluster"' EXIT
export SLURM_CONF="$cluster/slurm.conf"
sinfo

echo "+ tools/slurm/sweep.sh --cpus-per-task=1 -- $tiny --out $work/sweep"
# shellcheck disable=SC2086
GANOMALY_CATEGORIES="$build/ganomaly_categories" "$here/sweep.sh" --cpus-per-task=1 -- $tiny --out "$work/sweep" \
  | tee "$work/submitted.txt"
array=$(sed -n 's/^array job \([0-9]*\):.*/\1/p' "$work/submitted.txt")
collect=$(sed -n 's/^collect job \([0-9]*\):.*/\1/p' "$work/submitted.txt")
squeue
i=0
while [ -n "$(squeue -h -j "$array,$collect" 2>/dev/null)" ]; do
  i=$((i + 1))
  if [ $i -gt 600 ]; then
    echo "test-slurm: the jobs did not end in 5 minutes" >&2
    squeue >&2
    exit 1
  fi
  sleep 0.5
done
echo "+ the array tasks' logs"
for f in "$work/sweep/logs"/array_*.log; do echo "== $(basename "$f")"; cat "$f"; done
echo "+ the collect job's log"
cat "$work/sweep/logs"/collect_*.log

fail=0
for run in 01/seed_1 01/seed_2 02/seed_1 02/seed_2; do
  [ -f "$work/sweep/btad/$run/summary.json" ] || { echo "test-slurm: no summary.json for $run" >&2; fail=1; }
done
[ -f "$work/sweep/btad_results.json" ] || { echo "test-slurm: collect wrote no btad_results.json" >&2; fail=1; }
rows=$(grep -c '"category":' "$work/sweep/btad_results.json" || true)
[ "$rows" = 4 ] || { echo "test-slurm: btad_results.json has $rows runs, expected 4" >&2; fail=1; }

echo "+ the same sweep without Slurm, one thread: build/ganomaly_categories $tiny --threads 1"
# shellcheck disable=SC2086
"$build/ganomaly_categories" $tiny --threads 1 --out "$work/local" >"$work/local.log" 2>&1 || { cat "$work/local.log"; fail=1; }
for run in 01/seed_1 01/seed_2 02/seed_1 02/seed_2; do
  if cmp -s "$work/sweep/btad/$run/model.gnm" "$work/local/btad/$run/model.gnm"; then
    echo "$run: model.gnm identical to the local run's"
  else
    echo "test-slurm: $run: model.gnm differs from the local run's" >&2
    fail=1
  fi
done
[ $fail = 0 ] && echo "test-slurm: passed"
exit $fail
