"""F.pad and the padding layers against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def compare_fn(e_fn, t_fn, shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_out, t_out = e_fn(ex), t_fn(tx)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "shape,pad",
    [
        ((2, 3, 5), (1, 2)),
        ((2, 3, 4, 5), (1, 2, 3, 0)),
        ((3, 4, 5), (2, 1, 1, 3)),
        ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2)),
    ],
    ids=str,
)
def test_pad_matches_torch(mode, shape, pad):
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.pad(x, pad, mode=mode), lambda x: torch.nn.functional.pad(x, pad, mode=mode), shape
    )


def test_constant_pad_value_crop_and_many_dims():
    torch = torch_or_skip()
    tf = torch.nn.functional
    compare_fn(
        lambda x: F.pad(x, (1, -2, 0, 1, 2, 2), value=2.5),
        lambda x: tf.pad(x, (1, -2, 0, 1, 2, 2), value=2.5),
        (2, 3, 4, 5),
    )
    compare_fn(
        lambda x: F.pad(x, (1, 1, 1, 1, 1, 1, 1, 1)),
        lambda x: tf.pad(x, (1, 1, 1, 1, 1, 1, 1, 1)),
        (2, 3, 4, 5),
    )
    compare_fn(lambda x: F.pad(x, (0, 0)), lambda x: tf.pad(x, (0, 0)), (2, 3))


def test_pad_gradcheck():
    x = ember.tensor(np.random.default_rng(1).standard_normal((1, 2, 4, 5)), requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert gradcheck(lambda x, mode=mode: F.pad(x, (2, 1, 3, 2), mode=mode), (x,))
        assert gradgradcheck(lambda x, mode=mode: F.pad(x, (2, 1, 1, 2), mode=mode), (x,))


def test_padding_layers_match_torch():
    torch = torch_or_skip()
    names = [
        ("ZeroPad2d", (2,)),
        ("ZeroPad1d", ((1, 2),)),
        ("ConstantPad1d", ((1, 2), 3.5)),
        ("ConstantPad2d", (1, 0.5)),
        ("ReflectionPad1d", (2,)),
        ("ReflectionPad2d", ((1, 2, 0, 3),)),
        ("ReplicationPad1d", (3,)),
        ("ReplicationPad2d", (2,)),
        ("CircularPad1d", (1,)),
        ("CircularPad2d", ((1, 0, 2, 1),)),
    ]
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    for name, args in names:
        e, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(e) == repr(t)
        inp = x[:, :, 0] if "1d" in name else x
        np.testing.assert_allclose(e(ember.tensor(inp)).numpy(), t(torch.tensor(inp)).numpy())


def test_pad_errors():
    x = ember.ones(1, 2, 3, 3)
    with pytest.raises(RuntimeError, match=r"reflect padding \(3, 0\) must be at most 2 for a dim of size 3"):
        F.pad(x, (3, 0, 0, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="padding length must be even"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(NotImplementedError, match="unknown mode"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(NotImplementedError, match="last 1, 2 or 3 dims"):
        F.pad(ember.ones(3, 3), (1, 1, 1, 1), mode="replicate")
