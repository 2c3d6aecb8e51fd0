"""The fused scaled-dot-product-attention primitive (ember.ops.attention) against the composite
it replaces, PyTorch and finite differences, to second order."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from ember.nn._functional.attention import _composed_attention
from tests.helpers import torch_or_skip

# (query, key, value) shapes: batch dims broadcast; 0-size batch, queries and keys
SHAPES = [
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)),
    ((2, 3, 4, 5), (3, 6, 5), (6, 7)),
    ((1, 4, 5), (3, 6, 5), (3, 6, 2)),
    ((4, 9), (6, 9), (6, 2)),
    ((2, 0, 4, 5), (2, 0, 6, 5), (2, 0, 6, 7)),
    ((2, 0, 5), (2, 6, 5), (2, 6, 7)),
]
MASKS = ["none", "causal", "bool", "bool_dead_rows", "float", "float_dead_rows", "float_batch"]


def _mask(kind: str, length: int, source: int, dtype, rng):
    """(attn_mask, is_causal) for a mask kind; the float masks have the inputs' dtype."""
    if kind == "none":
        return None, False
    if kind == "causal":
        return None, True
    if kind.startswith("bool"):
        allowed = rng.random((length, source)) > 0.4
        allowed[:, :1] = True  # every query sees a key...
        if kind == "bool_dead_rows" and length:
            allowed[0] = False  # ...but the first, which sees none
        return ember.tensor(allowed), False
    shape = (2, 1, length, source) if kind == "float_batch" else (length, source)
    mask = rng.standard_normal(shape)
    if kind == "float_dead_rows" and length:
        mask[..., 0, :] = -np.inf
    return ember.tensor(mask.astype(dtype)), False


def _run(fn, arrays, g, mask, causal, scale):
    leaves = [ember.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves, attn_mask=mask, is_causal=causal, scale=scale)
    out.backward(ember.tensor(g.astype(arrays[0].dtype)))
    return [out.detach().numpy()] + [t.grad.numpy() for t in leaves]


def _composite(q, k, v, attn_mask, is_causal, scale):
    return _composed_attention(q, k, v, attn_mask, 0.0, is_causal, scale)


def _case(shapes, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    mask, causal = _mask(kind, shapes[0][-2], shapes[1][-2], dtype, rng)
    out_shape = np.broadcast_shapes(
        shapes[0][:-2], shapes[1][:-2], shapes[2][:-2], () if mask is None else tuple(mask.shape[:-2])
    ) + (shapes[0][-2], shapes[2][-1])
    return arrays, mask, causal, rng.standard_normal(out_shape)


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)], ids=["float64", "float32"])
def test_matches_composite(shapes, kind, dtype, tol):
    arrays, mask, causal, g = _case(shapes, kind, dtype)
    fused = _run(F.scaled_dot_product_attention, arrays, g, mask, causal, 0.3)
    composed = _run(_composite, arrays, g, mask, causal, 0.3)
    for a, b in zip(fused, composed):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert np.isfinite(fused[0]).all()


def test_the_fused_primitive_runs_where_it_applies():
    q = ember.randn(2, 4, 3, requires_grad=True)
    assert (
        F.scaled_dot_product_attention(q, q, q, is_causal=True).grad_fn.name()
        == "ScaledDotProductAttentionBackward0"
    )
    assert (
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(4, 4, dtype=ember.bool)).grad_fn.name()
        == "ScaledDotProductAttentionBackward0"
    )
    learned = ember.zeros(4, 4, requires_grad=True)
    assert (
        F.scaled_dot_product_attention(q, q, q, attn_mask=learned).grad_fn.name()
        != "ScaledDotProductAttentionBackward0"
    )
    assert (
        F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).grad_fn.name()
        != "ScaledDotProductAttentionBackward0"
    )


def test_no_keys_gives_zeros():
    q, k, v = ember.randn(2, 4, 5, requires_grad=True), ember.randn(2, 0, 5), ember.randn(2, 0, 3)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 4, 3) and not out.detach().numpy().any()
    out.sum().backward()
    assert not q.grad.numpy().any()


def test_float_mask_with_a_gradient_keeps_the_composite_and_gets_its_gradient():
    rng = np.random.default_rng(2)
    q, k, v = (ember.tensor(rng.standard_normal((2, 3, 4))) for _ in range(3))
    mask = ember.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    assert gradcheck(lambda m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (mask,))


@pytest.mark.parametrize("kind", ["none", "causal", "bool_dead_rows", "float"])
def test_gradcheck_and_gradgradcheck(kind):
    arrays, mask, causal, _ = _case(((2, 3, 4), (2, 5, 4), (2, 5, 2)), kind, np.float64, seed=3)
    inputs = tuple(ember.tensor(a, requires_grad=True) for a in arrays)

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_gradcheck_with_broadcast_batch():
    rng = np.random.default_rng(4)
    inputs = tuple(
        ember.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 1, 3, 2), (3, 4, 2), (4, 3)]
    )
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), inputs)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_second_derivative_matches_composite(dtype):
    arrays, mask, causal, g = _case(((2, 3, 4), (2, 5, 4), (2, 5, 2)), "bool_dead_rows", dtype, seed=5)

    def second(fn):
        leaves = [ember.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*leaves, attn_mask=mask, is_causal=causal, scale=0.7)
        firsts = ember.autograd.grad(out, leaves, ember.tensor(g.astype(dtype)), create_graph=True)
        sum((f * f).sum() for f in firsts).backward()
        return [f.detach().numpy() for f in firsts] + [t.grad.numpy() for t in leaves]

    for a, b in zip(second(F.scaled_dot_product_attention), second(_composite)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["none", "causal", "bool_dead_rows", "float_dead_rows"])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-5)], ids=["float64", "float32"])
def test_matches_torch(kind, dtype, tol):
    torch = torch_or_skip()
    arrays, mask, causal, g = _case(((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)), kind, dtype, seed=6)
    fused = _run(F.scaled_dot_product_attention, arrays, g, mask, causal, None)
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_mask = None if mask is None else torch.tensor(mask.numpy())
    t_out = torch.nn.functional.scaled_dot_product_attention(*leaves, attn_mask=t_mask, is_causal=causal)
    t_out.backward(torch.tensor(g.astype(dtype)))
    for a, b in zip(fused, [t_out] + [t.grad for t in leaves]):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=tol, atol=tol)


def test_saved_inputs_are_version_checked():
    q = ember.randn(2, 3, 4, requires_grad=True)
    k = q * 1.0
    out = F.scaled_dot_product_attention(q, k, k)
    k.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_mask_that_does_not_broadcast_names_the_op():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention.*shape"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(2, 2, dtype=ember.bool))


def test_output_can_be_changed_in_place_before_backward():
    q = ember.randn(2, 3, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q, scale=0.5)
    out.mul_(2.0)  # backward needs q and the weights, not the output
    out.sum().backward()
    ref = ember.tensor(q.detach().numpy(), requires_grad=True)
    (_composite(ref, ref, ref, None, False, 0.5) * 2.0).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-6)
