#!/usr/bin/env bash
# The one check to run on a machine with an NVIDIA GPU (about 5 minutes on an H200 with
# 16 cores): builds the CUDA backend, runs the CUDA tests (every op, one training step and
# checkpoints, CUDA against CPU), trains and scores a generated category with
# --device cuda through the apps, then times training and scoring at 256 px, batch 32,
# for ganomaly.cpp and for PyTorch on the same GPU (strict float32, and with TF32).
#
#   tools/cuda_check.sh            # results in $OUT (default build-cuda/check)
#
# Environment: OUT (results folder), JOBS (build jobs, default nproc), STEPS (timed
# steps, default 10), PYTHON (with torch; default /usr/bin/python3), REFERENCE (the folder
# of ganomaly_torch.py; default tools/reference). For a dry run of
# the script itself on a machine without a GPU: DEVICE=cpu BENCH=0 (the CUDA tests then
# fail with exit 77, and the apps run on the CPU).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-cuda/check}
JOBS=${JOBS:-$(nproc)}
STEPS=${STEPS:-10}
PYTHON=${PYTHON:-/usr/bin/python3}
DEVICE=${DEVICE:-cuda}
BENCH=${BENCH:-1}
[ -x "$PYTHON" ] || PYTHON=python3
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
failed=0
fail() { say "FAILED: $*"; failed=1; }
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start ))s"; }

say "== machine"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$summary"
else
  say "nvidia-smi: not found"
fi
say "nvcc: $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | tail -1)"

say "== build (GANOMALY_CUDA=ON, -j$JOBS)"
if cmake -S . -B build-cuda -DGANOMALY_CUDA=ON > "$OUT/configure.log" 2>&1 &&
   cmake --build build-cuda -j "$JOBS" --target test_cuda test_device ganomaly_bench ganomaly_train ganomaly_test \
     ganomaly_infer ganomaly_make_data > "$OUT/build.log" 2>&1; then
  say "built in $(elapsed)"
else
  fail "build (see $OUT/build.log)"; tail -30 "$OUT/build.log"; exit 1
fi

say "== CUDA tests"
# Run directly, not through ctest: here exit code 77 (no usable GPU) is a failure.
OMP_NUM_THREADS=$JOBS build-cuda/test_cuda > "$OUT/test_cuda.log" 2>&1
rc=$?
tail -4 "$OUT/test_cuda.log" | tee -a "$summary"
[ $rc -eq 0 ] || fail "test_cuda exit $rc (see $OUT/test_cuda.log)"
OMP_NUM_THREADS=$JOBS build-cuda/test_device > "$OUT/test_device.log" 2>&1 || fail "test_device (see $OUT/test_device.log)"
say "tests done at $(elapsed)"

say "== apps with --device $DEVICE (generated category, 64 px, 2 epochs)"
data="$OUT/data"
rm -rf "$data" "$OUT/run"
if build-cuda/ganomaly_make_data --layout mvtec --category bottle --size 64 --train 64 --test-good 16 --test-bad 16 \
     --out "$data" --overwrite > "$OUT/apps.log" 2>&1 &&
   build-cuda/ganomaly_train "$data/bottle" --out "$OUT/run" --device "$DEVICE" --image-size 64 --epochs 2 --min-steps 0 --batch-size 16 \
     --no-report >> "$OUT/apps.log" 2>&1 &&
   build-cuda/ganomaly_test "$OUT/run/model.gnm" "$data/bottle" --device "$DEVICE" --no-report --out "$OUT/run/test_cuda" \
     >> "$OUT/apps.log" 2>&1 &&
   build-cuda/ganomaly_test "$OUT/run/model.gnm" "$data/bottle" --device cpu --no-report --out "$OUT/run/test_cpu" \
     >> "$OUT/apps.log" 2>&1; then
  grep -h "image AUROC" "$OUT/apps.log" | sed 's/^/  /' | tee -a "$summary"
  # The same model scored on both devices: latent, reconstruction, feature and
  # residual_max (columns 4-7) must agree to float rounding.
  paste -d, "$OUT/run/test_cuda/test_scores.csv" "$OUT/run/test_cpu/test_scores.csv" | awk -F, '
    NR > 1 { for (j = 4; j <= 7; j++) { d = $j - $(j + 11); if (d < 0) d = -d; s = $(j + 11); if (s < 0) s = -s;
               if (s < 1e-12) s = 1e-12; if (d / s > worst) worst = d / s }
             if ($11 != $22) verdicts++ }
    END { printf "  cuda vs cpu scores of one model: largest relative difference %.2e, verdicts differing %d\n",
                 worst, verdicts; exit (worst > 1e-2) }' | tee -a "$summary"
  [ "${PIPESTATUS[1]}" -eq 0 ] || fail "cuda and cpu scores of the same model differ by more than 1e-2"
else
  fail "apps with --device $DEVICE (see $OUT/apps.log)"; tail -5 "$OUT/apps.log"
fi
say "apps done at $(elapsed)"

if [ "$BENCH" != 1 ]; then
  say "== speed: not measured (BENCH=$BENCH)"
  say "== done in $(elapsed); $([ $failed -eq 0 ] && echo 'all checks passed' || echo 'SOME CHECKS FAILED')"
  exit $failed
fi
say "== speed at 256 px, batch 32, $STEPS timed steps"
if OMP_NUM_THREADS=$JOBS build-cuda/ganomaly_bench --device cuda --sizes 256 --batch 32 --steps "$STEPS" \
     --json "$OUT/ganomaly_cuda.json" > "$OUT/bench.log" 2>&1; then
  say "ganomaly.cpp (cuda):"; sed 's/^/  /' "$OUT/bench.log" | tee -a "$summary"
else
  fail "ganomaly_bench --device cuda (see $OUT/bench.log)"; tail -5 "$OUT/bench.log"
fi
reference=${REFERENCE:-tools/reference}
if [ -n "$reference" ]; then
  for tf32 in "" "--tf32"; do
    if "$PYTHON" tools/torch_cuda_bench.py --device cuda --size 256 --batch 32 --steps "$STEPS" --reference "$reference" \
         $tf32 > "$OUT/torch$tf32.log" 2>&1; then
      say "PyTorch:"; sed 's/^/  /' "$OUT/torch$tf32.log" | tee -a "$summary"
    else
      say "PyTorch run failed or is unavailable: $(tail -1 "$OUT/torch$tf32.log")"
    fi
  done
else
  say "PyTorch: ganomaly_torch.py not found (set REFERENCE)"
fi
say "(ganomaly.cpp's score img/s is Ganomaly::score: G, D features of x and fake, four scores on the host;"
say " compare it with PyTorch's score_img_per_s; latent_only is the reference script's G-only pass.)"
say "== done in $(elapsed); $([ $failed -eq 0 ] && echo 'all checks passed' || echo 'SOME CHECKS FAILED')"
exit $failed
