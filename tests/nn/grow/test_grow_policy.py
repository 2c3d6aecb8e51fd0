"""GrowOnPlateau: widens on a plateau, up to max_width, with the optimizer following."""

from __future__ import annotations

import pytest

import ember
from ember import nn
from ember.nn.grow import GrowOnPlateau, GrowthReport


def _net():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


def test_grows_after_patience_and_stops_at_max_width():
    net = _net()
    x = ember.randn(4, 2)
    opt = ember.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    policy = GrowOnPlateau(["0", "2"], factor=2, max_width=10, patience=1, example_input=x, optimizer=opt)
    reports = [policy.step(loss, net) for loss in (1.0, 0.5, 0.6, 0.55, 0.5, 0.6, 0.6, 0.7, 0.7)]
    grown = [r for r in reports if r is not None]
    assert reports[:3] == [None, None, None] and isinstance(reports[3], GrowthReport)
    assert net[0].out_features == 10 and net[2].out_features == 10
    assert len(policy.history) == 4 and len(grown) == 2
    assert policy.grow(net) is None  # at max_width: nothing left to grow


def test_tied_entries_and_state_dict():
    from .nets import Residual

    net = Residual()
    policy = GrowOnPlateau(
        [["a", "b"]], factor=1.5, max_width=6, patience=0, example_input=ember.randn(2, 3), cooldown=1
    )
    assert policy.step(1.0, net) is None
    assert policy.step(2.0, net) is not None and net.a.out_features == 6
    assert policy.step(3.0, net) is None  # cooldown
    state = policy.state_dict()
    other = GrowOnPlateau(["a"], example_input=None)
    other.load_state_dict(state)
    assert other.best == 1.0 and other.widths == {"a": 6}


def test_arguments_checked():
    with pytest.raises(ValueError, match="factor"):
        GrowOnPlateau(["0"], factor=1, example_input=None)
