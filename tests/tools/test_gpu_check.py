"""``tools/gpu_check.sh``: valid bash, and its whole logic runs on the CUDA stand-in (dry run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gpu_check.sh"


def test_script_is_valid_bash():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    subprocess.run([bash, "-n", str(SCRIPT)], check=True)


@pytest.mark.slow
def test_dry_run_on_the_stand_in_writes_log_and_results(tmp_path):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBER_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["EMBER_GPU_CHECK_WORKLOADS"] = "mlp,lenet"  # the device suite trains every workload already
    env["EMBER_GPU_BENCH_WORKLOADS"] = "mlp-b32 gpt"  # tests/bench/test_bench_cuda.py runs them all
    run = subprocess.run(
        [bash, str(SCRIPT), str(tmp_path), "--dry-run", "--skip-suite"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "GPU CHECK PASSED" in run.stdout and "DRY RUN" in run.stdout
    log = (tmp_path / "gpu_check.log").read_text()
    assert "=== environment" in log and "=== GPU-only checks" in log
    assert "=== GPU benchmark" in log and "=== profile" in log and "time per section" in log
    bench = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert [(r["workload"], r["mode"]) for r in bench["rows"]][:3] == [
        ("mlp-b32", "fp32"),
        ("mlp-b32", "graph"),
        ("gpt", "fp32"),
    ]
    assert "| gpt | amp |" in (tmp_path / "bench_gpu.md").read_text()
    profile = (tmp_path / "profile.txt").read_text()
    assert "ember gpt (fp32" in profile and "ember convnet (fp32" in profile
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["dry_run"] and results["environment"]["stand_in"] and results["summary"]["ok"]
    names = {c["name"]: c["status"] for c in results["checks"]}
    for name in (
        "streams",
        "events",
        "memory_statistics",
        "out_of_memory",
        "pinned_memory",
        "workload_mlp",
        "workload_lenet",
    ):
        assert names[name] == "passed", (name, results["checks"])
    assert names["dlpack"] == "skipped"  # PyTorch/CuPy exchange needs a real GPU
    assert "workload_gpt" not in names
