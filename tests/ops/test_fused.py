"""The fused primitives, from one table: each against the composite it replaces (forward and
gradients), and its two backward paths against each other — ``backward_arrays`` (no graph
recorded, the usual case) and the Tensor-op ``backward`` (``create_graph=True``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend.fused import dropout as fused_dropout
from ember.nn._functional import loss as F_loss
from ember.nn._functional import rnn as F_rnn
from ember.ops import Primitive
from ember.ops.dropout import Dropout
from ember.ops.embedding import EmbeddingLookup


def _erf_gelu(x):
    return 0.5 * x * (1 + (x / math.sqrt(2.0)).erf())


def _composite_cross_entropy(x, t):
    return -(x.log_softmax(1).gather(1, t.unsqueeze(1))).mean()


def _composite_layer_norm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / (var + 1e-5).sqrt() * w + b


def _composite_batch_norm(x, w, b):
    mean = x.mean((0, 2), keepdim=True)
    var = ((x - mean) ** 2).mean((0, 2), keepdim=True)
    return (x - mean) / (var + 1e-5).sqrt() * w.reshape(1, -1, 1) + b.reshape(1, -1, 1)


def _composite_attention(q, k, v):
    return ((q @ k.mT) / math.sqrt(q.shape[-1])).softmax(-1) @ v


_CLASS_WEIGHT = ember.tensor([0.5, 2.0, 1.0, 1.5], dtype=ember.float64)


def _nll(reduction, weight=None):
    def fused(x, t):
        return F.nll_loss(x, t, weight=weight, reduction=reduction)

    def composite(x, t):
        loss, weights = F_loss._nll(x, t, weight, -100)
        if reduction == "mean":
            return loss.sum() / weights.sum()
        return loss.sum() if reduction == "sum" else loss

    return fused, composite


def _targets(*shape):
    """Class indices in 0..3 with one ``ignore_index`` (-100)."""

    def make(rng):
        t = rng.integers(0, 4, shape)
        t.reshape(-1)[1] = -100
        return t

    return make


def _composite_softmax(x):
    return x.exp() / x.exp().sum(1, keepdim=True)


def _composite_cat(a, b):
    return F.pad(a, (0, b.shape[1])) + F.pad(b, (a.shape[1], 0))


def _lstm(fused):
    def run(gates_x, h0, c0, w_hh):
        out, h, c = F_rnn._direction("LSTM", gates_x, None, h0, c0, w_hh, None, None, False, fused=fused)
        return out, h, c

    return run


def _gru(fused):
    def run(gates_x, h0, w_hh, b_hh):
        out, h, _ = F_rnn._direction("GRU", gates_x, None, h0, None, w_hh, b_hh, None, False, fused=fused)
        return out, h

    return run


def _composite_dropout(x):
    """The same Philox mask (seed 5, offset 7) applied by a multiply and a division."""
    return x * ember.tensor(fused_dropout.keep_mask(np, tuple(x.shape), 0.3, 5, 7)) / 0.7


def _rand(*shape):
    return lambda rng: rng.standard_normal(shape)


# name: (primitive, fused fn, composite fn, input makers, which inputs get gradients)
FUSED = {
    "Relu": ("Relu", F.relu, lambda x: x * (x > 0), [_rand(4, 5)]),
    "Linear": ("Linear", F.linear, lambda x, w, b: x @ w.mT + b, [_rand(3, 2, 4), _rand(5, 4), _rand(5)]),
    "SoftmaxCrossEntropy": (
        "SoftmaxCrossEntropy",
        F.cross_entropy,
        _composite_cross_entropy,
        [_rand(6, 4), lambda rng: rng.integers(0, 4, 6)],
    ),
    "Normalize (layer norm)": (
        "Normalize",
        lambda x, w, b: F.layer_norm(x, (5,), w, b),
        _composite_layer_norm,
        [_rand(3, 5), _rand(5), _rand(5)],
    ),
    "Normalize (batch norm)": (
        "Normalize",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        _composite_batch_norm,
        [_rand(4, 3, 2), _rand(3), _rand(3)],
    ),
    "Gelu": ("Gelu", F.gelu, _erf_gelu, [_rand(4, 5)]),
    "Softmax": ("Softmax", lambda x: x.softmax(1), _composite_softmax, [_rand(3, 5)]),
    "Softmax (log)": (
        "Softmax",
        lambda x: x.log_softmax(0),
        lambda x: x - x.exp().sum(0, keepdim=True).log(),
        [_rand(3, 5)],
    ),
    "ScaledDotProductAttention": (
        "ScaledDotProductAttention",
        F.scaled_dot_product_attention,
        _composite_attention,
        [_rand(2, 3, 4), _rand(2, 5, 4), _rand(2, 5, 2)],
    ),
    "EmbeddingLookup": (
        "EmbeddingLookup",
        lambda w, i: EmbeddingLookup.apply(w, i, 1),
        lambda w, i: F.embedding(i, w, padding_idx=1),
        [_rand(5, 3), lambda rng: rng.integers(0, 5, (4, 6))],
    ),
    "NLLLoss (mean, weight)": ("NLLLoss", *_nll("mean", _CLASS_WEIGHT), [_rand(6, 4), _targets(6)]),
    "NLLLoss (sum, (N, C, d1, d2))": ("NLLLoss", *_nll("sum"), [_rand(2, 4, 3, 2), _targets(2, 3, 2)]),
    "NLLLoss (none, weight, (N, C, d))": (
        "NLLLoss",
        *_nll("none", _CLASS_WEIGHT),
        [_rand(3, 4, 5), _targets(3, 5)],
    ),
    "NLLLoss (mean, (C,))": ("NLLLoss", *_nll("mean"), [_rand(4), lambda rng: np.array(2)]),
    "Cat": ("Cat", lambda a, b: ember.cat((a, b), 1), _composite_cat, [_rand(3, 2), _rand(3, 4)]),
    "Mul": (
        "Mul",
        lambda a, b: a * b,
        lambda a, b: ((a + b) ** 2 - (a - b) ** 2) / 4,
        [_rand(3, 4), _rand(4)],
    ),
    "Sum": ("Sum", lambda a: a.sum(1), lambda a: a @ ember.ones(a.shape[1], dtype=a.dtype), [_rand(3, 4)]),
    "Reshape": ("Reshape", lambda a: a.reshape(12), lambda a: ember.cat(list(a.unbind(0))), [_rand(3, 4)]),
    "LSTMLayer": (
        "LSTMLayer",
        _lstm(True),
        _lstm(False),
        [_rand(4, 2, 12), _rand(2, 3), _rand(2, 3), _rand(12, 3)],
    ),
    "Dropout": ("Dropout", lambda x: Dropout.apply(x, 0.3, 5, 7), _composite_dropout, [_rand(6, 7)]),
    "GRULayer": ("GRULayer", _gru(True), _gru(False), [_rand(4, 2, 9), _rand(2, 3), _rand(9, 3), _rand(9)]),
}


def _inputs(makers, seed=0):
    rng = np.random.default_rng(seed)
    tensors = []
    for make in makers:
        a = make(rng)
        tensors.append(ember.tensor(a, requires_grad=a.dtype.kind == "f"))
    return tensors


def _loss(out, rng):
    outs = out if isinstance(out, tuple) else (out,)
    return sum((o * ember.tensor(rng.standard_normal(o.shape))).sum() for o in outs)


def _grads(fn, inputs, create_graph):
    out = fn(*inputs)
    diff = [t for t in inputs if t.requires_grad]
    loss = _loss(out, np.random.default_rng(1))
    return ember.autograd.grad(loss, diff, create_graph=create_graph)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_matches_its_composite_and_both_backward_paths_agree(name):
    primitive, fused, composite, makers = FUSED[name]
    inputs = _inputs(makers)
    out = fused(*inputs)
    first = out[0] if isinstance(out, tuple) else out
    assert type(first.grad_fn).__name__ == primitive + "Backward0", "the fused primitive ran"
    reference = composite(*inputs)
    for o, r in zip(
        out if isinstance(out, tuple) else (out,), reference if isinstance(reference, tuple) else (reference,)
    ):
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), rtol=1e-7, atol=1e-9)
    on_arrays = _grads(fused, inputs, create_graph=False)
    on_tensors = _grads(fused, inputs, create_graph=True)
    composed = _grads(composite, inputs, create_graph=False)
    for a, t, c in zip(on_arrays, on_tensors, composed):
        assert a.grad_fn is None
        np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-7, atol=1e-9)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_primitive_with_an_array_backward_is_in_the_table():
    import ember.ops.attention  # noqa: F401, E401

    with_arrays = {c.__name__ for c in _subclasses(Primitive) if c.backward_arrays is not None}
    assert with_arrays <= {entry[0] for entry in FUSED.values()}


def test_the_engine_picks_the_path_by_grad_mode():
    calls = []

    class Twice(Primitive):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            calls.append("tensors")
            return grad * 2

        @staticmethod
        def backward_arrays(ctx, grad):
            calls.append("arrays")
            return grad * 2

    x = ember.ones(3, requires_grad=True)
    Twice.apply(x).sum().backward()
    (g,) = ember.autograd.grad(Twice.apply(x).sum(), [x], create_graph=True)
    assert calls == ["arrays", "tensors"]
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and g.tolist() == [2.0, 2.0, 2.0]
