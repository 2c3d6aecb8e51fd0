"""Lazy layers: shapes inferred from the first input, the class they become, state_dict loading,
and the Uninitialized placeholders."""

from __future__ import annotations

import copy

import pytest

import ember
from ember import nn
from tests.helpers import torch_or_skip

CASES = [
    (lambda: nn.LazyLinear(4), (2, 3), nn.Linear, {"weight": (4, 3), "bias": (4,)}),
    (lambda: nn.LazyLinear(4, bias=False), (5, 2, 3), nn.Linear, {"weight": (4, 3)}),
    (lambda: nn.LazyConv1d(4, 2, groups=2), (3, 4, 6), nn.Conv1d, {"weight": (4, 2, 2)}),
    (lambda: nn.LazyConv2d(5, 3, padding=1), (2, 3, 6, 6), nn.Conv2d, {"weight": (5, 3, 3, 3)}),
    (lambda: nn.LazyConv3d(2, 1), (3, 2, 2, 2), nn.Conv3d, {"weight": (2, 3, 1, 1, 1)}),
    (lambda: nn.LazyConvTranspose1d(3, 2), (1, 2, 4), nn.ConvTranspose1d, {"weight": (2, 3, 2)}),
    (
        lambda: nn.LazyConvTranspose2d(3, 2, groups=1),
        (1, 2, 4, 4),
        nn.ConvTranspose2d,
        {"weight": (2, 3, 2, 2)},
    ),
    (
        lambda: nn.LazyConvTranspose3d(4, 2, stride=2),
        (1, 2, 3, 3, 3),
        nn.ConvTranspose3d,
        {"weight": (2, 4, 2, 2, 2)},
    ),
    (lambda: nn.LazyBatchNorm1d(), (4, 7), nn.BatchNorm1d, {"weight": (7,), "running_mean": (7,)}),
    (lambda: nn.LazyBatchNorm2d(), (4, 3, 2, 2), nn.BatchNorm2d, {"running_var": (3,)}),
    (lambda: nn.LazyBatchNorm3d(affine=False), (2, 3, 2, 2, 2), nn.BatchNorm3d, {"running_var": (3,)}),
    (lambda: nn.LazyInstanceNorm1d(affine=True), (3, 5), nn.InstanceNorm1d, {"weight": (3,)}),
    (
        lambda: nn.LazyInstanceNorm2d(affine=True, track_running_stats=True),
        (2, 3, 4, 4),
        nn.InstanceNorm2d,
        {"running_mean": (3,)},
    ),
    (lambda: nn.LazyInstanceNorm3d(affine=True), (2, 3, 2, 2, 2), nn.InstanceNorm3d, {"bias": (3,)}),
]


@pytest.mark.parametrize(
    "make,shape,becomes,expected",
    CASES,
    ids=lambda c: getattr(c, "__name__", None) if isinstance(c, type) else None,
)
def test_lazy_layer_infers_shapes_and_becomes_its_class(make, shape, becomes, expected):
    layer = make()
    assert layer.has_uninitialized_params()
    layer(ember.randn(*shape))
    assert type(layer) is becomes
    state = layer.state_dict()
    for name, size in expected.items():
        assert tuple(state[name].shape) == size
    layer(ember.randn(*shape))  # the second call runs the ordinary class


def test_lazy_sequential_trains_and_matches_torch_state_keys():
    torch = torch_or_skip()
    net = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    t_net = torch.nn.Sequential(
        torch.nn.LazyConv2d(4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2)
    )
    net(ember.randn(2, 1, 5, 5))
    t_net(torch.randn(2, 1, 5, 5))
    assert repr(net) == repr(t_net)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {
        k: tuple(v.shape) for k, v in t_net.state_dict().items()
    }
    opt = ember.optim.SGD(net.parameters(), lr=0.1)
    x, y = ember.randn(8, 1, 5, 5), ember.randn(8, 2)
    first = None
    for _ in range(5):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first


def test_load_state_dict_materializes_lazy_layers():
    src = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    dst = nn.Sequential(nn.LazyLinear(4), nn.LazyBatchNorm1d())
    dst.load_state_dict(src.state_dict())
    assert type(dst[0]) is nn.Linear and type(dst[1]) is nn.BatchNorm1d
    x = ember.randn(5, 3)
    src.eval()
    dst.eval()
    assert ember.allclose(src(x), dst(x))


def test_lazy_factory_kwargs_and_deepcopy():
    layer = nn.LazyLinear(2, dtype=ember.float64)
    clone = copy.deepcopy(layer)
    assert clone(ember.ones(1, 3, dtype=ember.float64)).dtype == ember.float64
    assert layer.weight.dtype == ember.float64


def test_uninitialized_placeholders():
    p = nn.UninitializedParameter()
    assert isinstance(p, nn.Parameter)
    with pytest.raises(RuntimeError, match="uninitialized"):
        _ = p.shape
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
    b = nn.UninitializedBuffer()
    b.materialize(4, dtype=ember.float64)
    assert type(b) is ember.Tensor and b.dtype == ember.float64 and not b.requires_grad
