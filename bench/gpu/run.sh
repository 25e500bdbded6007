#!/usr/bin/env bash
# bench/gpu/run.sh [stage ...]: one device-tool call that builds, tests and benchmarks on the GPU machine and leaves
# everything under $OUT (README.md beside this file says how to call it). Stages, in this order (default: all):
#   setup     unpack the carried bun and node_modules (build-gpu/, made by bench/gpu/prepare.sh); machine facts
#   build     cmake both libraries for sm_90 into build-device/ (the CUDA one comes from build-gpu/prebuilt/ when a
#             carried build matches the sources; a fresh build is returned as $OUT/libdusa_cuda.<hash>.so.xz)
#   test      DUSA_REQUIRE_CUDA=1 bun test test/cuda                 -> $OUT/cuda-tests.txt
#   sanitize  compute-sanitizer memcheck over a few CUDA test files    -> /tmp/sanitizer.txt, its summary in run.log
#   kernels   bun bench/gpu/kernels.ts --device cuda (= bun bench kernels) -> $OUT/kernels.json
#   ours      bun bench/full/step.ts --device cuda --preset full       -> $OUT/full-ours.json (+ weights in /tmp)
#   ours16    the same in bf16 storage (no weights written)             -> $OUT/full-ours-bf16.json
#   torch     python3 bench/pytorch/step_full.py on ours' weights      -> $OUT/full-pytorch.json
#   compare   ours/PyTorch ratio tables (fp32, and bf16 when ours16 ran) -> $OUT/summary.txt
# Each stage runs under `timeout`: min(its own box, what is left of DEADLINE seconds); a stage that cannot get 20 s is
# skipped; BOX_<stage>=seconds overrides a stage's box (e.g. BOX_ours=260). OURS_ARGS / TORCH_ARGS add options to those
# stages. $OUT gets at most 8 files (the device tool's limit).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
SELF=$ROOT/bench/gpu/run.sh
OUT=${OUT:-/tmp/dusa-gpu-out}
WEIGHTS=/tmp/dusa-full-weights
export PATH=/tmp/dusa-tools:$PATH DUSA_LIB_DIR=$ROOT/build-device PYTHONUNBUFFERED=1 OUT WEIGHTS
mkdir -p "$OUT" /tmp/dusa-tools

unxz_to() { # unxz_to FILE.xz DEST: xz when the machine has it, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

sources_hash() { cat CMakeLists.txt cuda/gpu/* cuda/common/* cuda/include/* | sha256sum | cut -c1-16; }

stage_setup() {
  if ! command -v bun >/dev/null; then
    [ -f build-gpu/bun.xz ] || { echo "no bun on this machine and no build-gpu/bun.xz carried (run bench/gpu/prepare.sh, carry build-gpu)"; return 1; }
    unxz_to build-gpu/bun.xz /tmp/dusa-tools/bun && chmod +x /tmp/dusa-tools/bun
  fi
  if [ ! -d node_modules/cac ]; then
    mkdir -p node_modules
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' build-gpu/node_modules.tar.xz node_modules || return 1
  fi
  bun --version >/dev/null || return 1
  { # facts only: none of these stops the run
    echo "bun $(bun --version); $(nvcc --version | tail -1); $(cmake --version | head -1); $(g++ --version | head -1); nproc $(nproc)"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
    python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
    command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer
    df -h /tmp | tail -1
  } 2>&1 | tee -a "$OUT/summary.txt"
  return 0
}

stage_build() {
  local hash nvcc prebuilt
  hash=$(sources_hash)
  nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  cmake -S . -B build-device -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$nvcc" || return 1
  prebuilt=build-gpu/prebuilt/libdusa_cuda.$hash.so.xz
  if [ -f "$prebuilt" ]; then
    echo "cuda library: carried build $hash (sources unchanged)"
    cmake --build build-device --target dusa_cpu -j "$(nproc)" || return 1
    unxz_to "$prebuilt" build-device/libdusa_cuda.so
  else
    cmake --build build-device -j "$(nproc)" || return 1
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(open(sys.argv[1], "rb"), lzma.open(sys.argv[2], "wb"))' build-device/libdusa_cuda.so "$OUT/libdusa_cuda.$hash.so.xz"
  fi
  ls -la build-device/*.so
}

stage_test() { DUSA_REQUIRE_CUDA=1 bun test test/cuda 2>&1 | tee "$OUT/cuda-tests.txt"; }

stage_sanitize() {
  local cs
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  [ -x "$cs" ] || { echo "no compute-sanitizer" | tee "$OUT/sanitizer.txt"; return 1; }
  DUSA_REQUIRE_CUDA=1 "$cs" --tool memcheck --target-processes all --leak-check no --error-exitcode 9 \
    bun test test/cuda/device.test.ts test/cuda/attention.test.ts test/cuda/dusa-ops.test.ts test/cuda/conv.test.ts >/tmp/sanitizer.txt 2>&1
  local rc=$?
  grep -E "ERROR SUMMARY|^ *[0-9]+ (pass|fail)|^\(fail\)|Invalid|errors? detected" /tmp/sanitizer.txt | head -60
  return $rc
}

stage_kernels() { bun bench/gpu/kernels.ts --device cuda --json "$OUT/kernels.json"; }

stage_ours() {
  # shellcheck disable=SC2086
  bun bench/full/step.ts --device cuda --preset full --save-weights "$WEIGHTS" --json "$OUT/full-ours.json" \
    --search-budget $((STAGE_BOX / 3)) ${OURS_ARGS:-}
}

stage_ours16() {
  # shellcheck disable=SC2086
  bun bench/full/step.ts --device cuda --preset full --storage bf16 --json "$OUT/full-ours-bf16.json" \
    --search-budget $((STAGE_BOX / 3)) ${OURS_ARGS:-}
}

stage_torch() {
  local weights=()
  [ -f "$WEIGHTS/parity.safetensors" ] && weights=(--weights "$WEIGHTS")
  # shellcheck disable=SC2086
  python3 bench/pytorch/step_full.py --device cuda --preset full "${weights[@]}" --budget $((STAGE_BOX - 45)) --search-budget 50 \
    --json "$OUT/full-pytorch.json" ${TORCH_ARGS:-}
}

stage_compare() {
  bun bench/full/compare.ts "$OUT/full-ours.json" "$OUT/full-pytorch.json" | tee -a "$OUT/summary.txt"
  [ -f "$OUT/full-ours-bf16.json" ] && bun bench/full/compare.ts "$OUT/full-ours-bf16.json" "$OUT/full-pytorch.json" | tee -a "$OUT/summary.txt"
  return 0
}

# one stage in a child process (so `timeout` can stop it and everything it started)
if [ "${1:-}" = "--one" ]; then
  "stage_$2"
  exit $?
fi

DEADLINE=${DEADLINE:-570}
declare -A BOX=([setup]=60 [build]=300 [test]=240 [sanitize]=150 [kernels]=90 [ours]=330 [ours16]=300 [torch]=330 [compare]=30)
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(setup build test sanitize kernels ours torch compare)
LOG=$OUT/run.log SUMMARY=$OUT/summary.txt
note() { echo "$*" | tee -a "$SUMMARY"; }
: >"$SUMMARY"
note "bench/gpu/run.sh ${STAGES[*]} on $(hostname), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), cuda sources $(sources_hash)"
for s in "${STAGES[@]}"; do
  [ -n "${BOX[$s]:-}" ] || { note "unknown stage '$s'"; continue; }
  left=$((DEADLINE - SECONDS - 10))
  override=BOX_$s
  box=${!override:-${BOX[$s]}}
  [ "$box" -gt "$left" ] && box=$left
  if [ "$box" -lt 20 ]; then note "stage $s: SKIPPED, ${left}s left"; continue; fi
  echo "=== stage $s (box ${box}s) $(date +%T)" | tee -a "$LOG"
  t0=$SECONDS
  STAGE_BOX=$box timeout --kill-after=5 "$box" bash "$SELF" --one "$s" 2>&1 | tee -a "$LOG" | tail -n 40
  rc=${PIPESTATUS[0]}
  note "stage $s: rc $rc, $((SECONDS - t0)) s$([ "$rc" -eq 124 ] && echo ', TIMED OUT')"
  [ "$s" = build ] && [ "$rc" -ne 0 ] && { note "build failed: stopping"; break; }
  [ "$s" = setup ] && [ "$rc" -ne 0 ] && { note "setup failed: stopping"; break; }
done

{
  echo
  [ -f "$OUT/cuda-tests.txt" ] && { echo "cuda tests:"; grep -E "^ *[0-9]+ (pass|fail|skip)|^Ran |\(fail\)" "$OUT/cuda-tests.txt" | head -40; }
  [ -f "$OUT/sanitizer.txt" ] && { echo "sanitizer:"; grep -E "ERROR SUMMARY|Invalid|^ *[0-9]+ (pass|fail)" "$OUT/sanitizer.txt" | head -20; }
  [ -f "$OUT/kernels.json" ] && grep -A3 '"ceilings"' "$OUT/kernels.json"
  grep -E "^(fp32 GEMM ceiling|largest micro-batch)" "$LOG"
  sed -n '/^## step, B/,/^\[step/p' "$LOG"
  grep -E "^\[.*: [0-9.]+ s\]$|section .* failed" "$LOG" | tail -40
} >>"$SUMMARY" 2>/dev/null
[ -f "$LOG" ] && [ "$(stat -c %s "$LOG")" -gt 15000000 ] && { tail -c 15000000 "$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"; }
echo "=================== summary"
cat "$SUMMARY"
