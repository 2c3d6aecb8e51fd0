"""The NN families' reference kernels (``ember.backend.fused``), on NumPy: each against a float64
NumPy composite and its backward against central finite differences; float16 within its
resolution. (These references are what the CUDA stand-in runs and what the CuPy kernels are
compared with on a GPU, in ``tests/cuda/test_fused_nn.py``.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember.backend.fused import attention, bias_act, cross_entropy, gelu, norm, softmax


def _rng(seed=0):
    return np.random.default_rng(seed)


def numeric_grad(f, a, eps=1e-6):
    """d f() / d a by central differences (``f`` reads ``a``, which is perturbed in place)."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        keep = a[i]
        a[i] = keep + eps
        up = f()
        a[i] = keep - eps
        down = f()
        a[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


def _softmax64(x, log=False):
    shifted = x - x.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return log_p if log else np.exp(log_p)


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", [(1,), (3, 1), (4, 7), (2, 3, 10)])
def test_softmax_forward_matches_the_composite(shape, log):
    x = _rng().standard_normal(shape) * 3
    np.testing.assert_allclose(softmax.forward(x, log), _softmax64(x, log), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_backward_matches_finite_differences(log):
    rng = _rng(1)
    x, g = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    expected = numeric_grad(lambda: (g * _softmax64(x, log)).sum(), x)
    got = softmax.backward(softmax.forward(x, log), g, log)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_float16_computes_in_float32(log):
    rng = _rng(2)
    x, g = rng.standard_normal((4, 33)), rng.standard_normal((4, 33))
    y16 = softmax.forward(x.astype(np.float16), log)
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16.astype(np.float64), _softmax64(x, log), rtol=2e-3, atol=2e-3)
    d16 = softmax.backward(y16, g.astype(np.float16), log)
    d64 = softmax.backward(_softmax64(x, log), g, log)
    assert d16.dtype == np.float16
    np.testing.assert_allclose(d16.astype(np.float64), d64, rtol=1e-2, atol=1e-2)


def test_softmax_of_a_row_with_inf_is_nan_as_in_the_composite():
    x = np.array([[0.0, np.inf, 1.0], [0.0, 1.0, 2.0]])
    with np.errstate(invalid="ignore"):
        out = softmax.forward(x)
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


# ---------------------------------------------------------------- cross entropy


def _ce64(x, target, class_weight, ignore_index):
    kept = target != ignore_index
    safe = np.where(kept, target, 0)
    w = kept * (1.0 if class_weight is None else class_weight[safe])
    log_p = _softmax64(x, log=True)[np.arange(len(target)), safe]
    return np.where(kept, -log_p * w, 0.0), w


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_forward_matches_the_composite(weighted, ignore_index):
    rng = _rng(3)
    x, target = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    target[0] = 2
    class_weight = rng.uniform(0.5, 2.0, 5) if weighted else None
    losses, weights = cross_entropy.forward(x, target, class_weight, ignore_index)
    expected_losses, expected_weights = _ce64(x, target, class_weight, ignore_index)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-12)
    if ignore_index == 2:
        assert losses[0] == 0 and weights[0] == 0


def test_cross_entropy_backward_matches_finite_differences():
    rng = _rng(4)
    x, target = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    class_weight = rng.uniform(0.5, 2.0, 4)
    scale = rng.uniform(0.1, 1.0, 6) * class_weight[target]
    expected = numeric_grad(lambda: (scale * -_softmax64(x, log=True)[np.arange(6), target]).sum(), x)
    np.testing.assert_allclose(cross_entropy.backward(x, target, scale), expected, rtol=1e-6, atol=1e-8)


def test_cross_entropy_float16():
    rng = _rng(5)
    x, target = rng.standard_normal((5, 9)), rng.integers(0, 9, 5)
    losses, weights = cross_entropy.forward(x.astype(np.float16), target, None, -100)
    assert losses.dtype == weights.dtype == np.float16
    np.testing.assert_allclose(losses, _ce64(x, target, None, -100)[0], rtol=3e-3, atol=3e-3)
    grad = cross_entropy.backward(x.astype(np.float16), target, np.ones(5, np.float16))
    expected = _softmax64(x) - np.eye(9)[target]
    np.testing.assert_allclose(grad.astype(np.float64), expected, rtol=3e-3, atol=3e-3)


# ---------------------------------------------------------------- norms


def _layer64(x, w, b, eps):
    mean = x.mean(1, keepdims=True)
    var = ((x - mean) ** 2).mean(1, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    return (out if w is None else out * w) + (0 if b is None else b)


def _batch64(x, w, b, eps):
    mean = x.mean((0, 2), keepdims=True)
    var = ((x - mean) ** 2).mean((0, 2), keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    return (out if w is None else out * w[None, :, None]) + (0 if b is None else b[None, :, None])


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_forward_and_backward(affine):
    rng = _rng(6)
    x, g = rng.standard_normal((4, 7)) * 2 + 1, rng.standard_normal((4, 7))
    w, b = (rng.standard_normal(7), rng.standard_normal(7)) if affine else (None, None)
    out, mean, var, rstd = norm.layer_forward(x, w, b, 1e-5)
    np.testing.assert_allclose(out, _layer64(x, w, b, 1e-5), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, x.mean(1), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(1), rtol=1e-12)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(x.var(1) + 1e-5), rtol=1e-12)
    dx, dw, db = norm.layer_backward(x, g, mean, rstd, w, params=affine)

    def loss():
        return (g * _layer64(x, w, b, 1e-5)).sum()

    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-5, atol=1e-7)
    if affine:
        np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(db, numeric_grad(loss, b), rtol=1e-5, atol=1e-7)
    else:
        assert dw is None and db is None


@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_forward_and_backward(affine):
    rng = _rng(7)
    x, g = rng.standard_normal((3, 4, 5)) * 2 + 1, rng.standard_normal((3, 4, 5))
    w, b = (rng.standard_normal(4), rng.standard_normal(4)) if affine else (None, None)
    out, mean, var, rstd = norm.batch_forward(x, w, b, 1e-5)
    np.testing.assert_allclose(out, _batch64(x, w, b, 1e-5), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(var, x.var((0, 2)), rtol=1e-12)
    dx, dw, db = norm.batch_backward(x, g, mean, rstd, w, params=affine)

    def loss():
        return (g * _batch64(x, w, b, 1e-5)).sum()

    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-5, atol=1e-7)
    if affine:
        np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(db, numeric_grad(loss, b), rtol=1e-5, atol=1e-7)


def test_norms_in_float16_compute_in_float32():
    rng = _rng(8)
    x = rng.standard_normal((6, 40))
    out, mean, _, rstd = norm.layer_forward(x.astype(np.float16), None, None, 1e-5)
    assert out.dtype == np.float16 and mean.dtype == rstd.dtype == np.float32
    np.testing.assert_allclose(out, _layer64(x, None, None, 1e-5), rtol=5e-3, atol=5e-3)
    x3 = x.reshape(2, 3, 40)
    out, *_ = norm.batch_forward(x3.astype(np.float16), None, None, 1e-5)
    np.testing.assert_allclose(out, _batch64(x3, None, None, 1e-5), rtol=5e-3, atol=5e-3)


# ---------------------------------------------------------------- gelu and bias + activation


def _gelu64(x, approximate):
    if approximate == "none":
        return np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.ravel()]).reshape(x.shape)
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_forward_and_backward(approximate):
    rng = _rng(9)
    x, g = rng.standard_normal((3, 6)) * 3, rng.standard_normal((3, 6))
    np.testing.assert_allclose(gelu.forward(x, approximate), _gelu64(x, approximate), rtol=1e-12, atol=1e-14)
    expected = numeric_grad(lambda: (g * _gelu64(x, approximate)).sum(), x)
    np.testing.assert_allclose(gelu.backward(x, g, approximate), expected, rtol=1e-6, atol=1e-8)
    x16 = gelu.forward(x.astype(np.float16), approximate)
    assert x16.dtype == np.float16
    np.testing.assert_allclose(x16, _gelu64(x, approximate), rtol=3e-3, atol=3e-3)


def test_gelu_rejects_an_unknown_form():
    with pytest.raises(RuntimeError, match="approximate"):
        gelu.forward(np.ones(2), "erf")


@pytest.mark.parametrize("activation", bias_act.ACTIVATIONS)
def test_bias_act_forward_and_backward(activation):
    rng = _rng(10)
    x, b, g = rng.standard_normal((2, 3, 5)), rng.standard_normal(5), rng.standard_normal((2, 3, 5))
    x[np.abs(x + b) < 1e-3] += 0.01  # away from relu's kink

    def composite():
        v = x + b
        if activation == "relu":
            return np.maximum(v, 0)
        return _gelu64(v, "tanh" if activation == "gelu_tanh" else "none")

    np.testing.assert_allclose(bias_act.forward(x, b, activation), composite(), rtol=1e-12, atol=1e-14)
    dx, db = bias_act.backward(x, b, g, activation)
    np.testing.assert_allclose(dx, numeric_grad(lambda: (g * composite()).sum(), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, numeric_grad(lambda: (g * composite()).sum(), b), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- attention's masked softmax


def _masked64(scores, scale, bias, causal):
    s = scores * scale
    if causal:
        s = np.where(np.tri(*scores.shape[-2:], dtype=bool), s, -np.inf)
    if bias is not None:
        s = s + bias
    top = s.max(-1, keepdims=True)
    dead = top == -np.inf
    e = np.exp(s - np.where(dead, 0, top))
    return np.where(dead, 0.0, e / np.where(dead, 1, e.sum(-1, keepdims=True)))


def _bool_bias(mask):
    return np.where(mask, 0.0, -np.inf)


@pytest.mark.parametrize(
    "case", ["plain", "causal", "bias (L, S)", "key padding (B, 1, 1, S)", "all masked row"]
)
def test_masked_softmax_forward_and_backward(case):
    rng = _rng(11)
    scores, g = rng.standard_normal((2, 2, 4, 6)), rng.standard_normal((2, 2, 4, 6))
    bias, causal = None, case == "causal"
    if case == "bias (L, S)":
        bias = rng.standard_normal((4, 6))
    elif case == "key padding (B, 1, 1, S)":
        bias = _bool_bias(np.arange(6)[None, None, None, :] < np.array([3, 6])[:, None, None, None])
    elif case == "all masked row":
        mask = rng.random((4, 6)) < 0.5
        mask[1] = False
        bias = _bool_bias(mask)
    p = attention.masked_softmax(scores, 0.5, bias, causal)
    np.testing.assert_allclose(p, _masked64(scores, 0.5, bias, causal), rtol=1e-12, atol=1e-14)
    if case == "all masked row":
        assert (p[..., 1, :] == 0).all()
    expected = numeric_grad(lambda: (g * _masked64(scores, 0.5, bias, causal)).sum(), scores)
    got = attention.masked_softmax_backward(p, g, 0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_masked_softmax_float16():
    rng = _rng(12)
    scores = rng.standard_normal((3, 5, 5))
    p16 = attention.masked_softmax(scores.astype(np.float16), 0.3, None, True)
    assert p16.dtype == np.float16
    np.testing.assert_allclose(p16, _masked64(scores, 0.3, None, True), rtol=3e-3, atol=3e-3)
