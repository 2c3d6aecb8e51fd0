#!/usr/bin/env bash
# The prepared GPU check for ember's CUDA backend (issue 12). Runs in at most ~8 minutes:
#   1. prints the environment (nvidia-smi, python, the installed cupy/torch/numpy/pytest);
#   2. installs only what is missing (from a wheel folder if given; CuPy and PyTorch are
#      expected to be there already and are never reinstalled);
#   3. runs the device test suite (tests/cuda) on the real GPU: EMBER_DEVICE_TESTS=cuda;
#   4. runs the checks only a GPU can answer and one training step of each benchmark workload
#      on CUDA against the CPU (tools/gpu_check.py);
#   5. writes gpu_check.log, device_suite.xml and results.json into OUT.
#
# usage: tools/gpu_check.sh OUT [--dry-run] [--skip-suite]
#   --dry-run     run everything on the CUDA stand-in (EMBER_FAKE_CUDA=1): tests this script's
#                 logic on a machine without a GPU
#   --skip-suite  skip step 3 (the device suite), for a quick look at the GPU-only checks
# environment: EMBER_GPU_WHEELS=DIR  a folder of wheels to install missing test tools from
#              (pytest, hypothesis, ...) when the machine cannot reach a package index;
#              EMBER_GPU_CHECK_WORKLOADS=mlp,gpt  only these benchmark workloads (default: all).
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

section() { printf '\n=== %s (t=%ss) ===\n' "$1" "$((SECONDS - START))"; }

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
    timeout "${EMBER_GPU_SUITE_SECONDS:-240}" "$PYTHON" -m pytest -q -p no:randomly -p no:cacheprovider "${XDIST[@]}" tests/cuda \
        --junitxml="$OUT/device_suite.xml" -rfE 2>&1 | tail -n 60
    SUITE_RC=${PIPESTATUS[0]}
    echo "device suite exit status: $SUITE_RC"
else
    echo "device suite skipped (--skip-suite)"
fi

section "GPU-only checks and benchmark workloads (tools/gpu_check.py)"
timeout 200 "$PYTHON" tools/gpu_check.py --out "$OUT" --suite-rc "$SUITE_RC" "${GPU_FLAG[@]}"
CHECK_RC=$?

section "done"
echo "results: $OUT/results.json; log: $LOG"
if [[ $SUITE_RC -ne 0 || $CHECK_RC -ne 0 ]]; then
    echo "GPU CHECK FAILED (suite $SUITE_RC, checks $CHECK_RC)"
    exit 1
fi
echo "GPU CHECK PASSED"
