"""3-D pooling, the *_with_indices forms, adaptive and fractional max pooling, 3-D padding."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip
from tests.nn.test_pooling import compare_fn

SHAPE = (2, 3, 5, 6, 7)

CASES = [
    ("max_pool3d", (2,), {"return_indices": True}),
    ("max_pool3d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "return_indices": True}),
    ("max_pool3d", ((2, 3, 2),), {"dilation": (1, 2, 1), "return_indices": True}),
    ("max_pool3d_with_indices", (2,), {}),
    ("max_pool2d_with_indices", (2,), {}),
    ("max_pool1d_with_indices", (3,), {"stride": 2}),
    ("avg_pool3d", (3,), {"stride": 2, "padding": 1}),
    ("avg_pool3d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False, "ceil_mode": True}),
    ("avg_pool3d", (2,), {"divisor_override": 3}),
    ("adaptive_avg_pool3d", ((2, 4, 3),), {}),
    ("adaptive_avg_pool3d", ((None, 2, 7),), {}),
    ("adaptive_max_pool3d", ((2, 4, 3),), {"return_indices": True}),
    ("adaptive_max_pool3d", (1,), {}),
    ("adaptive_max_pool3d_with_indices", ((5, 3, 7),), {}),
    ("adaptive_max_pool2d_with_indices", ((4, 3),), {}),
    ("adaptive_max_pool1d_with_indices", (4,), {}),
]


def _shape(name):
    if "1d" in name:
        return SHAPE[:3]
    return SHAPE[:2] + SHAPE[3:] if "2d" in name else SHAPE


@pytest.mark.parametrize("name,args,kw", CASES, ids=str)
def test_pooling_matches_torch(name, args, kw):
    torch = torch_or_skip()
    compare_fn(
        lambda x: getattr(F, name)(x, *args, **kw),
        lambda x: getattr(torch.nn.functional, name)(x, *args, **kw),
        _shape(name),
    )


def test_max_pool3d_ties_and_lp_pool3d_match_torch():
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.max_pool3d(x, 2, return_indices=True),
        lambda x: torch.nn.functional.max_pool3d(x, 2, return_indices=True),
        SHAPE,
        tie_values=True,
    )
    compare_fn(
        lambda x: F.lp_pool3d(x.abs() + 0.5, 2, 2),
        lambda x: torch.nn.functional.lp_pool3d(x.abs() + 0.5, 2, 2),
        SHAPE,
    )


def test_max_unpool3d_matches_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal(SHAPE)
    out, idx = F.max_pool3d(ember.tensor(x), 2, return_indices=True)
    t_out, t_idx = torch.nn.functional.max_pool3d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(
        F.max_unpool3d(out, idx, 2, output_size=SHAPE).numpy(),
        torch.nn.functional.max_unpool3d(t_out, t_idx, 2, output_size=SHAPE).numpy(),
    )
    out, idx = F.max_pool3d(ember.tensor(x[:, :, :4, :, :6]), 2, return_indices=True)
    t_out, t_idx = torch.nn.functional.max_pool3d(torch.tensor(x[:, :, :4, :, :6]), 2, return_indices=True)
    np.testing.assert_array_equal(
        nn.MaxUnpool3d(2)(out, idx).numpy(), torch.nn.MaxUnpool3d(2)(t_out, t_idx).numpy()
    )


@pytest.mark.parametrize(
    "spatial,kw",
    [
        (2, {"kernel_size": 2, "output_size": (3, 4)}),
        (2, {"kernel_size": (3, 2), "output_ratio": (0.5, 0.7)}),
        (3, {"kernel_size": (2, 2, 3), "output_size": (3, 4, 3)}),
        (3, {"kernel_size": 2, "output_ratio": 0.5}),
    ],
    ids=str,
)
def test_fractional_max_pool_matches_torch(spatial, kw):
    torch = torch_or_skip()
    samples = np.random.default_rng(3).random((2, 3, spatial))
    name = f"fractional_max_pool{spatial}d"
    shape = SHAPE if spatial == 3 else SHAPE[:2] + SHAPE[3:]
    compare_fn(
        lambda x: getattr(F, name)(x, return_indices=True, _random_samples=ember.tensor(samples), **kw),
        lambda x: getattr(torch.nn.functional, name)(
            x, return_indices=True, _random_samples=torch.tensor(samples), **kw
        ),
        shape,
    )


def test_fractional_max_pool_layers_draw_samples():
    x = ember.randn(2, 3, 9, 9)
    out, idx = nn.FractionalMaxPool2d(2, output_size=4, return_indices=True)(x)
    assert out.shape == (2, 3, 4, 4) and idx.dtype == ember.int64
    assert nn.FractionalMaxPool3d(2, output_ratio=0.5)(ember.randn(1, 2, 6, 6, 6)).shape == (1, 2, 3, 3, 3)
    with pytest.raises(ValueError, match="output"):
        nn.FractionalMaxPool2d(2)


def test_pooling3d_gradcheck():
    x = ember.tensor(np.random.default_rng(4).standard_normal((1, 2, 4, 3, 5)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool3d(x, 2, stride=1, padding=1), (x,))
    assert gradcheck(lambda x: F.avg_pool3d(x, 2, stride=1, count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool3d(x, (3, 2, 3)), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool3d(x, (3, 2, 3)), (x,))
    assert gradcheck(
        lambda x: F.fractional_max_pool3d(
            x, 2, output_size=2, _random_samples=ember.tensor([[[0.3, 0.6, 0.1]] * 2])
        ),
        (x,),
    )


@pytest.mark.parametrize(
    "name", ["MaxPool3d", "AvgPool3d", "LPPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"]
)
def test_pool3d_layers_match_torch(name):
    torch = torch_or_skip()
    args = (2, 2) if name == "LPPool3d" else (2,)
    x = np.abs(np.random.default_rng(0).standard_normal(SHAPE)) + 0.1
    e, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    np.testing.assert_allclose(e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-10)
    assert repr(e) == repr(t)


@pytest.mark.parametrize(
    "name", ["ConstantPad3d", "ZeroPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d"]
)
def test_pad3d_layers_match_torch(name):
    torch = torch_or_skip()
    args = ((1, 2, 0, 1, 2, 1),) + ((2.5,) if name == "ConstantPad3d" else ())
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5, 6))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_out, t_out = getattr(nn, name)(*args)(ex), getattr(torch.nn, name)(*args)(tx)
    np.testing.assert_array_equal(e_out.detach().numpy(), t_out.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
