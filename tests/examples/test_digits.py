"""The main job (``ember-demo digits``) at a small size: it trains, reports and saves."""

import json

import pytest

import ember
from ember.examples.__main__ import main

pytest.importorskip("sklearn")


@pytest.mark.slow
def test_digits_demo_trains_reports_and_saves(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["digits", "--epochs", "2", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch  1  train loss" in printed and "validation accuracy" in printed
    assert "test accuracy" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8  # two epochs already learn most digits
    state = ember.load(str(out / "digits_cnn.safetensors"))
    assert "conv1.weight" in state and tuple(state["fc.weight"].shape) == (10, 64)
    if (out / "loss.png").exists():
        assert (out / "loss.png").stat().st_size > 1000
