"""Unsupported cases raise before anything changes: the model and optimizer are untouched."""

from __future__ import annotations

import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.nn.grow import deepen_, prune_, widen_

from .nets import Residual, mlp


def _snapshot(net, opt=None):
    arrays = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    state = None
    if opt is not None:
        state = {id(p): {k: v.detach().numpy().copy() for k, v in s.items()} for p, s in opt.state.items()}
    return repr(net), arrays, state


def _assert_untouched(net, snap, opt=None):
    text, arrays, state = snap
    assert repr(net) == text
    now = net.state_dict()
    assert set(now) == set(arrays)
    for k, v in arrays.items():
        assert (now[k].detach().numpy() == v).all(), k
    if opt is not None:
        assert {
            id(p): {k: v.detach().numpy().tolist() for k, v in s.items()} for p, s in opt.state.items()
        } == {i: {k: v.tolist() for k, v in s.items()} for i, s in state.items()}


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 4)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        h = self.proj(x)
        return self.attn(h, h, h)[0]


class Softmaxed(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        return self.b(F.softmax(self.a(x), dim=-1))


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.scale = nn.Parameter(ember.ones(4))
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        return self.b(self.a(x) * self.scale)


def _opt_after_a_step(net, x):
    opt = ember.optim.Adam(net.parameters(), lr=0.01)
    out = net(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    opt.step()
    return opt


CASES = [
    (
        "layernorm",
        lambda: nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2)),
        (4, 3),
        "0",
        "normalises over the grown features",
    ),
    ("attention", Attention, (2, 5, 3), "proj", "heads"),
    ("residual-untied", Residual, (4, 3), "a", r"widen_\(model, \['a', 'b'\]"),
    ("model-output", lambda: mlp()[0], (5, 4), "2", "model's output"),
    ("softmax-between", Softmaxed, (4, 3), "a", "Softmax"),
    ("per-unit-parameter", Scaled, (4, 3), "a", "parameter 'scale'"),
    ("not-a-producer", lambda: mlp()[0], (5, 4), "1", "ReLU"),
    (
        "grouped-conv",
        lambda: nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Conv2d(4, 1, 1)),
        (1, 2, 5, 5),
        "0",
        "groups=2",
    ),
    (
        "depthwise-consumer",
        lambda: nn.Sequential(
            nn.Conv2d(2, 4, 3), nn.Conv2d(4, 4, 3, groups=4), nn.Flatten(), nn.Linear(4, 1)
        ),
        (1, 2, 5, 5),
        "0",
        "groups=4",
    ),
    ("unknown-name", lambda: mlp()[0], (5, 4), "nope", "no module 'nope'"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_widen_refuses_before_any_change(case):
    _, build, shape, name, message = case
    ember.manual_seed(0)
    net = build()
    x = ember.randn(*shape)
    opt = _opt_after_a_step(net, x)
    snap = _snapshot(net, opt)
    with pytest.raises((ValueError, TypeError), match=message):
        widen_(net, name, 8, example_input=x, optimizer=opt)
    _assert_untouched(net, snap, opt)
    with pytest.raises((ValueError, TypeError)):
        prune_(net, name, 2, example_input=x, optimizer=opt)
    _assert_untouched(net, snap, opt)


def test_tied_layers_of_different_widths_are_refused():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5))
    with pytest.raises(ValueError, match="same width"):
        widen_(net, ["0", "1"], 8, example_input=ember.randn(2, 3))


def test_unreached_layer_is_refused():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(3, 2)
            self.unused = nn.Linear(3, 3)

        def forward(self, x):
            return self.used(x)

    net = Skip()
    snap = _snapshot(net)
    with pytest.raises(ValueError, match="not called"):
        widen_(net, "unused", 6, example_input=ember.randn(2, 3))
    with pytest.raises(ValueError, match="did not run"):
        deepen_(net, "unused", example_input=ember.randn(2, 3))
    _assert_untouched(net, snap)


def test_bad_arguments():
    net, x = mlp()
    with pytest.raises(ValueError, match="keep"):
        prune_(net, "0", 0, example_input=x)
    with pytest.raises(ValueError, match="importance"):
        prune_(net, "0", 2, example_input=x, importance="l7")
    with pytest.raises(TypeError, match="activation"):
        deepen_(net, "0", example_input=x, activation=F.relu)
    assert len(net) == 3


class Masked(nn.Module):
    """A per-unit buffer (no gradient, so the trace cannot see its shape) multiplies the units."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.register_buffer("mask", ember.tensor([1.0, 0.0, 1.0, 0.5]))
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        return self.b(self.a(x) * self.mask)


def test_final_check_puts_everything_back():
    net, x = Masked(), ember.randn(4, 3)
    opt = _opt_after_a_step(net, x)
    snap = _snapshot(net, opt)
    with pytest.raises(RuntimeError, match="nothing was changed"):
        widen_(net, "a", 6, example_input=x, optimizer=opt)
    _assert_untouched(net, snap, opt)
    assert net.a.out_features == 4 and net.b.in_features == 4
    _opt_after_a_step(net, x)
    opt.step()  # the optimizer still works on the restored parameters
