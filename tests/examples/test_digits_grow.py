"""``ember-demo digits --grow``: the CNN grows during training and keeps learning."""

import pytest

from ember.examples.__main__ import main
from ember.examples.digits_grow import train_digits

pytest.importorskip("sklearn")


@pytest.mark.slow
def test_grown_digits_net_grows_and_learns():
    record = train_digits(epochs=3, threshold=1.0, verbose=False)  # every epoch is a plateau
    assert [g["widths"] for g in record["growths"]] == [(8, 16, 32), (16, 32, 64)]
    params = [e["parameters"] for e in record["epochs"]]
    assert params[0] < params[-1] and record["model"].widths() == (16, 32, 64)
    losses = [e["val_loss"] for e in record["epochs"]]
    assert losses[-1] < losses[0] and record["test_acc"] > 0.5


@pytest.mark.slow
def test_cli_flag_dispatches(capsys):
    assert main(["digits", "--grow", "--epochs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "digits --grow" in out and "test accuracy" in out
