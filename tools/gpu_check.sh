#!/usr/bin/env bash
# The prepared GPU check for ember's CUDA backend (issues 12 and 18). The whole check ends within
# EMBER_GPU_CHECK_SECONDS (default 450 s, under 8 minutes); each section gets at most its own
# limit and never more than the time left after what the later sections reserve:
#   1. prints the environment (nvidia-smi, python, the installed cupy/torch/numpy/pytest);
#   2. installs only what is missing (from a wheel folder if given; CuPy and PyTorch are
#      expected to be there already and are never reinstalled);
#   3. runs the device test suite (tests/cuda) on the real GPU: EMBER_DEVICE_TESTS=cuda;
#   4. runs the checks only a GPU can answer and one training step of some benchmark workloads
#      on CUDA against the CPU (tools/gpu_check.py);
#   5. runs the GPU benchmark, ember against PyTorch CUDA in fp32, TF32, AMP and CUDA-graph
#      modes (python -m bench --device cuda): bench_gpu.json and bench_gpu.md;
#   6. profiles ember's gpt and convnet steps (fp32) beside PyTorch's kernels: profile.txt;
#   7. writes gpu_check.log, device_suite.xml and results.json into OUT, and the time of each
#      section at the end of the log.
# A failed section does not stop the later ones. The verdict (GPU CHECK PASSED/FAILED) is the
# device suite's and gpu_check.py's; the benchmark and the profile are measurements: their
# failed modes are rows with the error in bench_gpu.md, and their exit status is printed.
#
# usage: tools/gpu_check.sh OUT [--dry-run] [--skip-suite]
#   --dry-run     run everything on the CUDA stand-in (EMBER_FAKE_CUDA=1): tests this script's
#                 logic on a machine without a GPU (the benchmark at tiny shapes, ember only)
#   --skip-suite  skip step 3 (the device suite), for a quick look at the other sections
# environment: EMBER_GPU_WHEELS=DIR  a folder of wheels to install missing test tools from
#              (pytest, hypothesis, ...) when the machine cannot reach a package index;
#              EMBER_GPU_CHECK_WORKLOADS=mlp,gpt  workloads of step 4 (default: mlp,lenet,gpt;
#              the device suite trains all seven on the GPU against the CPU already);
#              EMBER_GPU_BENCH_WORKLOADS="mlp gpt"  workloads of step 5 (default: all seven);
#              EMBER_GPU_CHECK_SECONDS, EMBER_GPU_SUITE_SECONDS, EMBER_GPU_BENCH_SECONDS,
#              EMBER_GPU_BENCH_STEPS: the time limits and the benchmark's timed steps.
set -uo pipefail

OUT="${1:?usage: tools/gpu_check.sh OUT [--dry-run] [--skip-suite]}"
shift
DRY_RUN=0
SKIP_SUITE=0
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        --skip-suite) SKIP_SUITE=1 ;;
        *) echo "unknown option: $arg" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
LOG="$OUT/gpu_check.log"
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1
cd "$ROOT" || exit 2
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
PYTHON="${PYTHON:-python}"
START=$SECONDS
TOTAL_SECONDS="${EMBER_GPU_CHECK_SECONDS:-450}"
SECTION_NAME=""
SECTION_START=$SECONDS
SECTION_TIMES=()

finish_section() {
    if [[ -n "$SECTION_NAME" ]]; then
        local took=$((SECONDS - SECTION_START))
        echo "--- $SECTION_NAME: ${took} s"
        SECTION_TIMES+=("$(printf '%5d s  %s' "$took" "$SECTION_NAME")")
    fi
    SECTION_NAME=""
}

section() {
    finish_section
    SECTION_NAME="$1"
    SECTION_START=$SECONDS
    printf '\n=== %s (t=%ss) ===\n' "$1" "$((SECONDS - START))"
}

# seconds a section may take: at most WANT, and never eating the RESERVE later sections need
limit() {
    local want=$1 reserve=$2
    local left=$((TOTAL_SECONDS - (SECONDS - START) - reserve))
    ((left < want)) && want=$left
    ((want < 15)) && want=15
    echo "$want"
}

section "environment"
date -u
if command -v nvidia-smi > /dev/null; then
    nvidia-smi
else
    echo "nvidia-smi: not found"
fi
"$PYTHON" --version
"$PYTHON" -m pip list 2> /dev/null | grep -i -E "cupy|torch|numpy|pytest|hypothesis" || true
git -C "$ROOT" log -1 --format='ember commit %H (%cd)' 2> /dev/null || true

section "dependencies (install only what is missing)"
missing=()
for module in numpy pytest hypothesis; do
    "$PYTHON" -c "import $module" 2> /dev/null || missing+=("$module")
done
if [[ $DRY_RUN -eq 0 ]] && ! "$PYTHON" -c "import cupy" 2> /dev/null; then
    echo "CuPy is missing: it was expected preinstalled; trying pip (cupy-cuda12x)"
    missing+=("cupy-cuda12x")
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "nothing to install"
elif [[ -n "${EMBER_GPU_WHEELS:-}" && -d "${EMBER_GPU_WHEELS}" ]]; then
    echo "installing ${missing[*]} from $EMBER_GPU_WHEELS"
    "$PYTHON" -m pip install --quiet --no-index --find-links "$EMBER_GPU_WHEELS" "${missing[@]}"
else
    echo "installing ${missing[*]} with pip"
    timeout 120 "$PYTHON" -m pip install --quiet "${missing[@]}" || echo "pip could not install: ${missing[*]}"
fi

if [[ $DRY_RUN -eq 1 ]]; then
    export EMBER_FAKE_CUDA=1
    export EMBER_FAKE_CUDA_MEMORY=$((768 << 20))
    echo "DRY RUN: on the CUDA stand-in (EMBER_FAKE_CUDA=1), not a GPU"
    GPU_FLAG=(--dry-run)
else
    unset EMBER_FAKE_CUDA
    export EMBER_DEVICE_TESTS=cuda
    GPU_FLAG=()
fi

SUITE_RC=0
if [[ $SKIP_SUITE -eq 0 ]]; then
    section "device test suite (tests/cuda)"
    XDIST=()
    # four workers on the GPU machine's 16 cores: CuPy compiles each kernel once (a shared cache)
    "$PYTHON" -c "import xdist" 2> /dev/null && XDIST=(-n "${EMBER_GPU_CHECK_WORKERS:-4}")
    SUITE_LIMIT=$(limit "${EMBER_GPU_SUITE_SECONDS:-210}" 210)
    echo "time limit: ${SUITE_LIMIT} s (then SIGINT: pytest stops and still writes its report)"
    timeout -s INT -k 20 "$SUITE_LIMIT" "$PYTHON" -m pytest -q -p no:randomly -p no:cacheprovider \
        "${XDIST[@]}" tests/cuda --junitxml="$OUT/device_suite.xml" -rfE 2>&1 | tail -n 60
    SUITE_RC=${PIPESTATUS[0]}
    echo "device suite exit status: $SUITE_RC"
else
    echo "device suite skipped (--skip-suite)"
fi

section "GPU-only checks and benchmark workloads (tools/gpu_check.py)"
export EMBER_GPU_CHECK_WORKLOADS="${EMBER_GPU_CHECK_WORKLOADS:-mlp,lenet,gpt}"
timeout -k 10 "$(limit 90 135)" "$PYTHON" tools/gpu_check.py --out "$OUT" --suite-rc "$SUITE_RC" "${GPU_FLAG[@]}"
CHECK_RC=$?
echo "gpu_check.py exit status: $CHECK_RC"

BENCH_FLAGS=(--steps "${EMBER_GPU_BENCH_STEPS:-10}")
[[ $DRY_RUN -eq 1 ]] && BENCH_FLAGS=(--quick --no-torch)

section "GPU benchmark: ember vs PyTorch, fp32/tf32/amp/graph (python -m bench --device cuda)"
BENCH_LIMIT=$(limit "${EMBER_GPU_BENCH_SECONDS:-150}" 45)
BENCH_BUDGET=$((BENCH_LIMIT > 40 ? BENCH_LIMIT - 20 : BENCH_LIMIT / 2)) # time to print and save
# the most telling workloads first: the budget skips (and says so) what it cannot reach
read -r -a BENCH_WORKLOADS <<< "${EMBER_GPU_BENCH_WORKLOADS:-mlp gpt mlp-b32 lenet-b32 convnet resnet lstm}"
timeout -k 10 "$BENCH_LIMIT" "$PYTHON" -m bench --device cuda "${BENCH_FLAGS[@]}" \
    --workloads "${BENCH_WORKLOADS[@]}" --budget "$BENCH_BUDGET" \
    --timeout 90 --json "$OUT/bench_gpu.json" --markdown "$OUT/bench_gpu.md"
BENCH_RC=$?
echo "benchmark exit status: $BENCH_RC (1: some modes failed, see the note column)"

section "profile: ember's primitives and PyTorch's kernels, gpt and convnet, fp32"
timeout -k 10 "$(limit 45 0)" "$PYTHON" -m bench --device cuda "${BENCH_FLAGS[@]}" --steps 3 \
    --profile gpt convnet 2>&1 | tee "$OUT/profile.txt"
PROFILE_RC=${PIPESTATUS[0]}
echo "profile exit status: $PROFILE_RC"

finish_section
printf '\n=== done (t=%ss) ===\n' "$((SECONDS - START))"
echo "time per section (limit for the whole check: ${TOTAL_SECONDS} s):"
printf '  %s\n' "${SECTION_TIMES[@]}"
echo "total: $((SECONDS - START)) s"
echo "results: $OUT/results.json, $OUT/bench_gpu.md, $OUT/bench_gpu.json, $OUT/profile.txt; log: $LOG"
echo "benchmark exit status $BENCH_RC, profile exit status $PROFILE_RC (measurements: not the verdict)"
if [[ $SUITE_RC -ne 0 || $CHECK_RC -ne 0 ]]; then
    echo "GPU CHECK FAILED (suite $SUITE_RC, checks $CHECK_RC)"
    exit 1
fi
echo "GPU CHECK PASSED"
