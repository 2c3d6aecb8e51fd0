"""Runs the device suite on the CUDA stand-in, so the README's single test command covers it.

The suite (every test in ``tests/cuda``) needs ``EMBER_FAKE_CUDA=1`` set *before* ember is
imported, which one pytest process cannot do for itself after collecting the rest of the tests;
so this test starts one subprocess with the variable set. Under the stand-in itself, or on a real
GPU (``EMBER_DEVICE_TESTS=cuda``), the suite runs in-process and this test skips.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cuda.conftest import device_suite_active

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_device_suite_passes_on_the_stand_in():
    if device_suite_active():
        pytest.skip("the device suite runs in this process")
    env = dict(
        os.environ, EMBER_FAKE_CUDA="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-x",
        *(["-n", "0"] if importlib.util.find_spec("xdist") else []),
        str(ROOT / "tests" / "cuda"),
    ]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, (
        f"device suite on the stand-in failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    )
    assert "passed" in run.stdout or run.stdout.count(".") > 100, run.stdout[-2000:]
