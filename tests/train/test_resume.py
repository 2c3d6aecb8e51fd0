"""Exact resume: a run killed at a random step and resumed ends with the same bits as one that was not."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import numpy as np
import pytest

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOTAL_STEPS = 36  # 3 epochs of 12 batches (tests/train/resume_run.py)
EPOCH_ENDS = (12, 24)


def _run(ckpt, out, workers, *extra, **popen):
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, "-m", "tests.train.resume_run", str(ckpt), str(out), str(workers), *extra]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def _finish(proc) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def _first_step(output: str) -> int:
    return int(output.split("step ", 1)[1].split()[0])


def _last_checkpoint_before(step: int) -> int:
    """The step of the newest checkpoint when the run is killed while announcing ``step``:
    every 5 steps, and at each epoch's end once its validation is over (the next step began)."""
    return max([5 * (step // 5)] + [end for end in EPOCH_ENDS if step > end])


def _checkpoint_after_signal(step: int) -> int:
    """The step of the checkpoint SIGTERM leaves when sent while ``step`` is announced: the
    signal lands after that step's own checkpoint check, so the next step writes it, unless
    ``step`` ends an epoch, whose end-of-epoch checkpoint comes first."""
    return step if step in EPOCH_ENDS else step + 1


def _interrupt_at(proc, step: int, sig: int) -> None:
    for line in proc.stdout:
        if line.strip() == f"step {step}":
            proc.send_signal(sig)
            break
    proc.communicate(timeout=120)


def _same(a_path, b_path) -> None:
    a, b = ember.load(str(a_path)), ember.load(str(b_path))
    assert sorted(a["params"]) == sorted(b["params"])
    for name in a["params"]:
        assert np.array_equal(a["params"][name].numpy(), b["params"][name].numpy()), name
    assert len(a["losses"]) == TOTAL_STEPS
    assert np.array_equal(a["losses"].numpy(), b["losses"].numpy())
    assert a["valid"] == b["valid"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    _finish(_run(folder / "ckpt", folder / "out.safetensors", 0))
    return folder / "out.safetensors"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_run_resumes_bit_identical(tmp_path, reference, sig):
    step = random.Random().randint(2, TOTAL_STEPS - 2)
    proc = _run(tmp_path / "ckpt", tmp_path / "out.safetensors", 0, "--delay", "0.02")
    _interrupt_at(proc, step, sig)
    if sig == signal.SIGTERM:
        assert proc.returncode == 0  # a clean exit after the checkpoint of the next step boundary
        assert not (tmp_path / "out.safetensors").exists()
    resumed = _finish(_run(tmp_path / "ckpt", tmp_path / "out.safetensors", 0, "--resume"))
    expected = _checkpoint_after_signal(step) if sig == signal.SIGTERM else _last_checkpoint_before(step)
    assert _first_step(resumed) == expected + 1
    _same(reference, tmp_path / "out.safetensors")


@pytest.mark.slow
def test_resume_with_worker_processes(tmp_path):
    ref = tmp_path / "ref.safetensors"
    _finish(_run(tmp_path / "ref_ckpt", ref, 2))
    step = random.Random().randint(2, TOTAL_STEPS - 2)
    proc = _run(tmp_path / "ckpt", tmp_path / "out.safetensors", 2, "--delay", "0.02")
    _interrupt_at(proc, step, signal.SIGKILL)
    resumed = _finish(_run(tmp_path / "ckpt", tmp_path / "out.safetensors", 2, "--resume"))
    assert _first_step(resumed) == _last_checkpoint_before(step) + 1
    _same(ref, tmp_path / "out.safetensors")
