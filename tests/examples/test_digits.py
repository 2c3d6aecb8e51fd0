"""The main job (``ember-demo digits``) at a small size: it trains through the Learner, reports,
saves, and an interrupted run resumes to the same weights."""

import json
import os

import numpy as np
import pytest

import ember
from ember.examples.__main__ import main

pytest.importorskip("sklearn")


@pytest.mark.slow
def test_digits_demo_trains_reports_and_saves(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["digits", "--epochs", "2", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lr_find" in printed and "peak learning rate" in printed
    assert printed.count("\n    1  ") == 1 and "valid_loss" in printed and "accuracy" in printed
    assert "test accuracy" in printed and "confusion matrix" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8  # two epochs already learn most digits
    assert np.array(metrics["confusion_matrix"]).sum() == 359
    state = ember.load(str(out / "digits_cnn.safetensors"))
    assert "conv1.weight" in state and tuple(state["fc.weight"].shape) == (10, 64)
    assert len(list((out / "checkpoints").glob("ckpt-*.safetensors"))) == 2
    if (out / "tensorboard").exists():
        assert any(name.startswith("events.out.tfevents") for name in os.listdir(out / "tensorboard"))
    for png in ("loss.png", "lr.png", "confusion.png", "lr_find.png"):
        if (out / png).exists():
            assert (out / png).stat().st_size > 1000


@pytest.mark.slow
def test_digits_demo_resume_continues_to_the_same_weights(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["digits", "--epochs", "2", "--no-progress", "--lr", "0.01", "--out", str(out)]
    assert main(args) == 0
    finished = ember.load(str(out / "digits_cnn.safetensors"))
    first = json.loads((out / "metrics.json").read_text())
    newest = max((out / "checkpoints").glob("ckpt-*.safetensors"))
    newest.unlink()  # as if the run had been killed during its second epoch
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "\n    2  " in printed and "\n    1  " not in printed  # only epoch 2 ran again
    resumed = ember.load(str(out / "digits_cnn.safetensors"))
    assert all(np.array_equal(finished[k].numpy(), resumed[k].numpy()) for k in finished)
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == first["test_accuracy"]
