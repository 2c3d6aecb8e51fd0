"""deepen_ inserts identity layers (Sequential and custom attributes); prune_ shrinks consistently."""

from __future__ import annotations

from collections import OrderedDict

import pytest

import ember
from ember import nn
from ember.nn.grow import deepen_, prune_, widen_

from .nets import CustomCNN, Embedder, cnn_bn_flatten, conv1d, mlp, warmed


def _out(net, x):
    net.eval()
    with ember.no_grad():
        out = net(x).numpy().copy()
    net.train()
    return out


def _close(a, b):
    return abs(a - b).max() <= 1e-5 * (1 + abs(b).max())


def test_deepen_in_sequential_inserts_in_order():
    net, x = mlp()
    before = _out(net, x)
    report = deepen_(net, "1", example_input=x, activation=nn.ReLU)
    assert report.added_modules == ["2", "3"]
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert report.parameters_added == 3 * 3 + 3
    assert _close(_out(net, x), before)  # ReLU after a ReLU: exact


def test_deepen_named_sequential_and_custom_attribute():
    net = nn.Sequential(OrderedDict(fc=nn.Linear(3, 4), act=nn.Tanh(), out=nn.Linear(4, 2)))
    x = ember.randn(3, 3)
    before = _out(net, x)
    report = deepen_(net, "fc", example_input=x)
    assert list(net._modules) == ["fc", "fc_deep", "act", "out"]
    assert report.added_modules == ["fc_deep"] and _close(_out(net, x), before)
    cnn = CustomCNN()
    x = ember.randn(2, 1, 8, 8)
    before = _out(cnn, x)
    report = deepen_(cnn, "c2", example_input=x)
    assert isinstance(cnn.c2, nn.Sequential) and isinstance(cnn.c2[1], nn.Conv2d)
    assert cnn.c2[1].padding == (1, 1) and report.added_modules == ["c2.1"]
    assert "c2.1.weight" in cnn.state_dict()
    assert _close(_out(cnn, x), before)


@pytest.mark.parametrize(
    "build,name,kind",
    [
        (cnn_bn_flatten, "0", nn.Conv2d),
        (conv1d, "0", nn.Conv1d),
        (lambda: (Embedder(), ember.tensor([[1, 2], [3, 4]])), "emb", nn.Linear),
    ],
)
def test_deepen_every_kind_preserves_output(build, name, kind):
    ember.manual_seed(0)
    net, x = build()
    warmed(net, x)
    before = _out(net, x)
    report = deepen_(net, name, example_input=x)
    new = net.get_submodule(report.added_modules[0])
    assert isinstance(new, kind)
    assert _close(_out(net, x), before)


def test_deepen_activation_that_changes_output_warns():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    with pytest.warns(UserWarning, match="non-negative"):
        deepen_(net, "0", example_input=ember.randn(8, 3), activation=nn.ReLU())


def test_widen_after_deepen_and_deepen_then_widen_new_layer():
    net, x = mlp()
    before = _out(net, x)
    deepen_(net, "0", example_input=x)
    widen_(net, "1", 8, example_input=x)
    widen_(net, "0", 5, example_input=x)
    assert net[1].in_features == 5 and net[1].out_features == 8 and net[3].in_features == 8
    assert _close(_out(net, x), before)


@pytest.mark.parametrize("build,name", [(mlp, "0"), (cnn_bn_flatten, "0"), (conv1d, "0")])
def test_prune_shrinks_consistently(build, name):
    ember.manual_seed(1)
    net, x = build()
    old = net[0].out_features if isinstance(net[0], nn.Linear) else net[0].out_channels
    report = prune_(net, name, old - 1, example_input=x)
    assert report.new_width == old - 1 and report.parameters_added < 0
    out = net(x)  # runs at the new sizes
    out.sum().backward()
    for module in net.modules():
        for p in module.parameters(recurse=False):
            assert p.grad is not None and p.grad.shape == p.shape


def test_prune_callable_importance_chooses_units():
    net, x = mlp()
    w = net[0].weight.detach().numpy().copy()
    prune_(net, "0", 2, example_input=x, importance=lambda m: ember.tensor([0.0, 5.0, 1.0]))
    assert (net[0].weight.detach().numpy() == w[[1, 2]]).all()
