"""Generic tests driven by the op table (every ``SPECS`` list in ``tests/ops/specs_*.py``)."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
import tests.ops as ops_pkg
from tests.helpers import torch_or_skip

ALL_SPECS = []
for _info in pkgutil.iter_modules(ops_pkg.__path__):
    if _info.name.startswith("specs_"):
        ALL_SPECS += importlib.import_module(f"tests.ops.{_info.name}").SPECS

_names = [s.name for s in ALL_SPECS]
assert len(_names) == len(set(_names)), (
    f"duplicate op spec names: {sorted(n for n in _names if _names.count(n) > 1)}"
)


def _params(predicate=lambda s: True):
    return [pytest.param(s, id=s.name, marks=s.marks) for s in ALL_SPECS if predicate(s)]


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _to_ember(arrays, grad_idx):
    return [ember.tensor(a, requires_grad=(i in grad_idx)) for i, a in enumerate(arrays)]


def _close(actual, expected, atol, rtol, what):
    actual = (
        np.asarray(actual, dtype=np.float64) if np.asarray(actual).dtype.kind != "b" else np.asarray(actual)
    )
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=what, equal_nan=True)


@pytest.mark.parametrize("spec", _params(lambda s: s.ref is not None))
def test_forward_matches_numpy_float64(spec):
    rng = np.random.default_rng(0)
    arrays = spec.inputs(rng)
    out = _as_tuple(spec.fn(ember, *_to_ember(arrays, ())))
    expected = _as_tuple(spec.ref(*[a.copy() for a in arrays]))
    for i, (o, e) in enumerate(zip(out, expected)):
        _close(o.numpy(), e, spec.atol, spec.rtol, f"{spec.name} output {i}")


@pytest.mark.parametrize("spec", _params(lambda s: s.ref is not None and s.float32))
def test_forward_float32_close_to_float64_reference(spec):
    rng = np.random.default_rng(1)
    arrays = spec.inputs(rng)
    arrays32 = [a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays]
    out = _as_tuple(spec.fn(ember, *_to_ember(arrays32, ())))
    expected = _as_tuple(spec.ref(*[a.copy() for a in arrays]))
    for i, (o, e) in enumerate(zip(out, expected)):
        if np.asarray(e).dtype.kind == "f":
            assert o.dtype in (ember.float32, ember.float16), f"{spec.name}: float32 inputs gave {o.dtype}"
        _close(o.numpy(), e, max(spec.atol, 1e-4), max(spec.rtol, 1e-4), f"{spec.name} float32 output {i}")


@pytest.mark.parametrize("spec", _params(lambda s: s.differentiable))
def test_gradients_match_finite_differences(spec):
    rng = np.random.default_rng(2)
    arrays = spec.inputs(rng)
    grad_idx = spec.grad_indices(arrays)
    tensors = _to_ember(arrays, grad_idx)
    assert ember.autograd.gradcheck(
        lambda *ts: spec.fn(ember, *ts), tensors, atol=spec.grad_atol, rtol=spec.grad_rtol
    )


@pytest.mark.parametrize("spec", _params(lambda s: s.gradgrad))
def test_second_order_gradients(spec):
    rng = np.random.default_rng(3)
    arrays = spec.inputs(rng)
    tensors = _to_ember(arrays, spec.grad_indices(arrays))
    assert ember.autograd.gradgradcheck(
        lambda *ts: spec.fn(ember, *ts), tensors, atol=spec.grad_atol, rtol=spec.grad_rtol
    )


@pytest.mark.parametrize("spec", _params(lambda s: s.torch))
def test_matches_pytorch_forward_and_backward(spec):
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    arrays = spec.inputs(rng)
    grad_idx = spec.grad_indices(arrays)
    ours = _to_ember(arrays, grad_idx)
    theirs = [torch.tensor(a, requires_grad=(i in grad_idx)) for i, a in enumerate(arrays)]
    out = _as_tuple(spec.fn(ember, *ours))
    ref = _as_tuple((spec.torch_fn or spec.fn)(torch, *theirs))
    for i, (o, r) in enumerate(zip(out, ref)):
        _close(
            o.detach().numpy(), r.detach().numpy(), spec.atol, spec.rtol, f"{spec.name} output {i} vs torch"
        )
    float_outs = [(o, r) for o, r in zip(out, ref) if o.requires_grad]
    if not grad_idx or not float_outs:
        return
    weights = [rng.standard_normal(o.shape) for o, _ in float_outs]
    loss = sum((o * ember.tensor(w)).sum() for (o, _), w in zip(float_outs, weights))
    torch_loss = sum((r * torch.tensor(w)).sum() for (_, r), w in zip(float_outs, weights))
    loss.backward()
    torch_loss.backward()
    for i in grad_idx:
        assert (ours[i].grad is None) == (theirs[i].grad is None), f"{spec.name}: grad presence of input {i}"
        if ours[i].grad is not None:
            _close(
                ours[i].grad.numpy(),
                theirs[i].grad.numpy(force=True),
                spec.grad_atol,
                spec.grad_rtol,
                f"{spec.name} grad of input {i} vs torch",
            )


def _non_contiguous(a: np.ndarray) -> np.ndarray:
    if a.ndim == 0:
        return a
    padded = np.empty(a.shape[:-1] + (a.shape[-1] * 2,), a.dtype)
    padded[..., ::2] = a
    view = padded[..., ::2]
    assert not view.flags.c_contiguous or a.shape[-1] <= 1
    return view


@pytest.mark.parametrize("spec", _params(lambda s: s.ref is not None))
def test_non_contiguous_inputs(spec):
    rng = np.random.default_rng(5)
    arrays = spec.inputs(rng)
    expected = _as_tuple(spec.fn(ember, *_to_ember(arrays, ())))
    strided = [ember.from_numpy(_non_contiguous(a)) for a in arrays]
    out = _as_tuple(spec.fn(ember, *strided))
    for o, e in zip(out, expected):
        _close(o.numpy(), e.numpy(), 1e-12, 1e-12, f"{spec.name} with strided inputs")
    grad_idx = spec.grad_indices(arrays)
    if grad_idx:
        for i in grad_idx:
            strided[i].requires_grad_()
        outs = [o for o in _as_tuple(spec.fn(ember, *strided)) if o.requires_grad]
        if outs:
            sum(o.sum() for o in outs).backward()
            for i in grad_idx:
                if strided[i].grad is not None:
                    assert strided[i].grad.shape == strided[i].shape


@pytest.mark.parametrize("spec", _params(lambda s: s.zero_dim))
def test_zero_dim_inputs(spec):
    rng = np.random.default_rng(6)
    arrays = spec.inputs(rng, shapes=[()] * len(spec.shapes))
    grad_idx = spec.grad_indices(arrays)
    tensors = _to_ember(arrays, grad_idx)
    out = _as_tuple(spec.fn(ember, *tensors))
    if spec.ref is not None:
        for o, e in zip(out, _as_tuple(spec.ref(*arrays))):
            _close(o.detach().numpy(), e, spec.atol, spec.rtol, f"{spec.name} 0-d")
    if grad_idx:
        sum(o.sum() for o in out if o.requires_grad).backward()
        for i in grad_idx:
            assert tensors[i].grad is not None and tensors[i].grad.shape == ()


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
    return shapes.input_shapes


BROADCAST_SPECS = _params(lambda s: s.broadcast)


@pytest.mark.parametrize("spec", BROADCAST_SPECS)
@settings(max_examples=25, deadline=None)
@given(shapes=broadcastable_pair())
def test_broadcasting_shapes_and_gradient_shapes(spec, shapes):
    rng = np.random.default_rng(7)
    arrays = spec.inputs(rng)
    lo, hi = spec.domain if spec.make_inputs is None else (0.5, 2.0)
    arrays = [rng.uniform(lo, hi, size=s).astype(np.float64) for s in shapes]
    tensors = _to_ember(arrays, (0, 1))
    out = spec.fn(ember, *tensors)
    assert tuple(out.shape) == np.broadcast_shapes(*shapes)
    if spec.ref is not None:
        _close(out.detach().numpy(), spec.ref(*arrays), 1e-6, 1e-6, f"{spec.name} broadcast {shapes}")
    out.sum().backward()
    for t, s in zip(tensors, shapes):
        assert tuple(t.grad.shape) == tuple(s)
