"""The fused GELU primitive (ember.ops.gelu) against its composite, math.erf and PyTorch, to second order."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from ember.ops import gelu as gelu_ops
from tests.helpers import torch_or_skip

SHAPES = [(), (0,), (3, 0, 2), (7,), (4, 5, 6), (2, 40000)]  # the last spans two chunks


def _composite(x):
    return x * ((x * math.sqrt(0.5)).erf() + 1.0) * 0.5


def _value_and_grad(fn, x, g):
    t = ember.tensor(x, requires_grad=True)
    out = fn(t)
    out.backward(ember.tensor(g))
    return out.detach().numpy(), t.grad.numpy()


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 3).astype(dtype), rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)], ids=["float64", "float32"])
def test_matches_composite(shape, dtype, tol):
    x, g = _data(shape, dtype)
    out, grad = _value_and_grad(F.gelu, x, g)
    ref_out, ref_grad = _value_and_grad(_composite, x, g)
    assert out.dtype == grad.dtype == dtype and out.shape == grad.shape == shape
    np.testing.assert_allclose(out, ref_out, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol)


def test_float32_against_math_erf_on_a_grid_and_in_the_tails():
    x = np.concatenate([np.linspace(-12, 12, 48001), [-1e30, -1e4, -100, 100, 1e4, 1e30]]).astype(np.float32)
    out, grad = _value_and_grad(F.gelu, x, np.ones_like(x))
    xs = x.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v * math.sqrt(0.5)) for v in xs])
    density = np.exp(-0.5 * np.minimum(xs * xs, 1e4)) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(out, xs * cdf, rtol=1e-6, atol=2e-6)
    np.testing.assert_allclose(grad, cdf + xs * density, rtol=1e-6, atol=1e-6)
    far = np.abs(x) >= 100
    assert np.all(out[far] == np.where(x[far] > 0, x[far], 0))  # Phi is exactly 0 or 1 past the clip
    assert np.all(grad[far] == (x[far] > 0))


def test_non_contiguous_input():
    x, g = _data((6, 5), np.float32)
    t = ember.tensor(x, requires_grad=True)
    F.gelu(t.t()).backward(ember.tensor(g.T.copy()))
    ref_out, ref_grad = _value_and_grad(_composite, x, g)
    np.testing.assert_allclose(F.gelu(ember.tensor(x).t()).numpy(), ref_out.T, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_compute_in_float32(dtype):
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")
    half = getattr(ember, dtype)
    x = ember.tensor(np.linspace(-5, 5, 101, dtype=np.float32)).to(half)
    out = F.gelu(x)
    assert out.dtype == half
    exact = F.gelu(x.float()).numpy()
    np.testing.assert_allclose(out.float().numpy(), exact, rtol=1e-2, atol=1e-2)


def test_float16_gradient():
    x = ember.tensor(np.linspace(-5, 5, 101, dtype=np.float16), requires_grad=True)
    F.gelu(x).sum().backward()
    ref = ember.tensor(np.linspace(-5, 5, 101, dtype=np.float16).astype(np.float32), requires_grad=True)
    _composite(ref).sum().backward()
    assert x.grad.dtype == ember.float16
    np.testing.assert_allclose(x.grad.numpy().astype(np.float32), ref.grad.numpy(), rtol=2e-3, atol=2e-3)


def test_integer_input_keeps_the_composite():
    out = F.gelu(ember.tensor([-1, 0, 2]))
    np.testing.assert_allclose(out.numpy(), [-0.15865525, 0.0, 1.9544997], rtol=1e-6)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)], ids=str)
def test_gradcheck_and_gradgradcheck(shape):
    x = ember.tensor(_data(shape, np.float64)[0], requires_grad=True)
    assert gradcheck(F.gelu, (x,))
    assert gradgradcheck(F.gelu, (x,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_second_derivative_matches_composite(dtype):
    x, g = _data((3, 4), dtype, seed=1)

    def second(fn):
        t = ember.tensor(x, requires_grad=True)
        (first,) = ember.autograd.grad(fn(t), t, ember.tensor(g), create_graph=True)
        (first * first).sum().backward()
        return first.detach().numpy(), t.grad.numpy()

    for a, b in zip(second(F.gelu), second(_composite)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)], ids=["float64", "float32"])
def test_matches_torch(dtype, tol):
    torch = torch_or_skip()
    x, g = _data((3, 70000), dtype)
    out, grad = _value_and_grad(F.gelu, x, g)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.gelu(tx)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=tol, atol=tol)


def test_saved_input_is_version_checked():
    x = ember.randn(5, requires_grad=True)
    y = x * 1.0
    out = F.gelu(y)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_chunks_cover_every_element(monkeypatch):
    monkeypatch.setattr(gelu_ops, "CHUNK", 7)
    x, g = _data((5, 9), np.float32)
    out, grad = _value_and_grad(F.gelu, x, g)
    monkeypatch.undo()
    ref_out, ref_grad = _value_and_grad(F.gelu, x, g)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(grad, ref_grad)
