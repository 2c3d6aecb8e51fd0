"""Exact resumption: 2 epochs + save + load in a new process + 2 epochs == 4 epochs, bitwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import ember
from tests.serialization import resume_worker

REPO = Path(__file__).resolve().parents[2]


def test_resume_in_new_process_is_bitwise_identical(tmp_path):
    straight = resume_worker.setup(seed=7)
    resume_worker.train(straight, 4)

    first = resume_worker.setup(seed=7)
    resume_worker.train(first, 2)
    ckpt, out = tmp_path / "epoch2.safetensors", tmp_path / "epoch4.safetensors"
    ember.save(resume_worker.checkpoint(first), ckpt)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "tests.serialization.resume_worker", str(ckpt), str(out)],
        check=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )

    resumed = ember.load(out)
    assert resumed["epoch"] == 4
    expected = straight["model"].state_dict()
    assert list(resumed["params"]) == list(expected)
    for name, value in expected.items():
        got = resumed["params"][name].numpy()
        assert got.tobytes() == value.numpy().tobytes(), f"{name} differs after resuming"
    # and the run really moved: epoch 2 and epoch 4 parameters differ
    assert not np.array_equal(first["model"].state_dict()["0.weight"].numpy(), expected["0.weight"].numpy())
