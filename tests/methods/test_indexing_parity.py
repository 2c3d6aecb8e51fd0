"""Indexing parity with PyTorch: hypothesis draws index expressions (ints, negative ints,
slices with steps, None, ..., lists, range, integer and boolean tensors and NumPy arrays, mixed
advanced and basic) and compares ``__getitem__``, ``__setitem__`` and their gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ember
from tests.helpers import torch_or_skip

torch = torch_or_skip(module=True)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class Both:
    """One index item in the two spellings: for ember and for PyTorch."""

    def __init__(self, ours, theirs, dims: int = 1):
        self.ours, self.theirs, self.dims = ours, theirs, dims

    def __repr__(self) -> str:
        return repr(self.theirs)


def _same(value, dims: int = 1) -> Both:
    return Both(value, value, dims)


@st.composite
def int_item(draw, n: int) -> Both:
    return _same(draw(st.integers(-n, n - 1)))


@st.composite
def slice_item(draw, n: int) -> Both:
    bound = st.none() | st.integers(-n - 1, n + 1)
    return _same(slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3))))


@st.composite
def array_item(draw, n: int) -> Both:
    """Integer indices as a list, range, tensor (int64/int32, 0-d to 2-d) or NumPy array."""
    form = draw(st.sampled_from(["list", "range", "tensor", "tensor32", "numpy", "scalar_tensor"]))
    if form == "range":
        start = draw(st.integers(0, n - 1))
        return _same(range(start, n, draw(st.integers(1, 2))))
    if form == "scalar_tensor":
        i = draw(st.integers(-n, n - 1))
        return Both(ember.tensor(i), torch.tensor(i))
    shape = draw(st.sampled_from([(1,), (2,), (3,), (2, 2), (0,)]))
    values = np.array(
        draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
        dtype=np.int64,
    ).reshape(shape)
    if form == "list":
        return _same(values.tolist())
    if form == "numpy":  # PyTorch's own handling of NumPy keys has quirks; compare with tensors
        return Both(values, torch.from_numpy(values.copy()))
    if form == "tensor32":
        values = values.astype(np.int32)
    return Both(ember.from_numpy(values.copy()), torch.from_numpy(values.copy()))


@st.composite
def mask_item(draw, shape: tuple) -> Both:
    """A boolean mask over the next one or two dims, as a tensor, NumPy array or list."""
    k = draw(st.integers(1, min(2, len(shape))))
    mask = np.array(
        draw(st.lists(st.booleans(), min_size=int(np.prod(shape[:k])), max_size=int(np.prod(shape[:k]))))
    ).reshape(shape[:k])
    form = draw(st.sampled_from(["tensor", "numpy"]))
    if form == "numpy":
        return Both(mask, torch.from_numpy(mask.copy()), k)
    return Both(ember.from_numpy(mask.copy()), torch.from_numpy(mask.copy()), k)


@st.composite
def index_case(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    items: list[Both] = []
    dim, ellipsis = 0, False
    while dim < len(shape) and draw(st.integers(0, 3)) > 0:
        n = shape[dim]
        choice = draw(st.sampled_from(["int", "slice", "array", "mask", "none", "ellipsis", "bool"]))
        if choice == "none":
            items.append(_same(None, 0))
            continue
        if choice == "bool":
            items.append(_same(draw(st.booleans()), 0))
            continue
        if choice == "ellipsis":
            if not ellipsis:
                ellipsis = True
                items.append(_same(Ellipsis, 0))
                dim = len(shape) - draw(st.integers(0, len(shape) - dim))
            continue
        strategy = {
            "int": int_item(n),
            "slice": slice_item(n),
            "array": array_item(n),
            "mask": mask_item(shape[dim:]),
        }[choice]
        item = draw(strategy)
        items.append(item)
        dim += item.dims
    if len(items) == 1 and draw(st.booleans()):
        return shape, items[0].ours, items[0].theirs  # a bare item, not a 1-tuple
    return shape, tuple(i.ours for i in items), tuple(i.theirs for i in items)


def _pair(shape):
    values = np.random.default_rng(len(shape)).standard_normal(shape)
    return ember.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


def _torch_result(fn):
    try:
        return fn(), None
    except (IndexError, TypeError, ValueError, RuntimeError) as exc:
        return None, exc


def _check(ours, theirs):
    if ours is None or theirs is None:  # no gradient reached it (x[False] = v writes nothing)
        assert ours is None and theirs is None
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=0)


@SETTINGS
@given(index_case())
def test_getitem_and_its_gradient_match_torch(case):
    shape, key, torch_key = case
    x, tx = _pair(shape)
    expected, error = _torch_result(lambda: tx[torch_key])
    if error is not None:
        with pytest.raises((IndexError, TypeError, ValueError, RuntimeError)):
            x[key]
        return
    out = x[key]
    _check(out, expected)
    weight = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (out * ember.tensor(weight)).sum().backward()
    (expected * torch.tensor(weight)).sum().backward()
    _check(x.grad, tx.grad)


@st.composite
def value_shape(draw, target: tuple):
    """A shape that broadcasts to ``target``: trailing dims, some set to 1."""
    keep = draw(st.integers(0, len(target)))
    kept = target[len(target) - keep :]
    return tuple(1 if draw(st.booleans()) else n for n in kept)


@SETTINGS
@given(index_case(), st.data())
def test_setitem_and_its_gradients_match_torch(case, data):
    shape, key, torch_key = case
    positions, error = _torch_result(lambda: torch.arange(int(np.prod(shape))).reshape(shape)[torch_key])
    if error is not None:
        y = ember.zeros(shape)
        with pytest.raises((IndexError, TypeError, ValueError, RuntimeError)):
            y[key] = 1.0
        return
    assume(positions.numel() == positions.unique().numel())  # repeated writes have no defined winner
    x, tx = _pair(shape)
    if data.draw(st.booleans(), label="scalar value"):
        value = data.draw(st.floats(-3, 3), label="value")
        y, ty = x * 1.0, tx * 1.0
        y[key] = value
        ty[torch_key] = value
        _check(y, ty)
        (y * 2.0).sum().backward()
        (ty * 2.0).sum().backward()
        _check(x.grad, tx.grad)
        return
    vshape = data.draw(value_shape(tuple(positions.shape)), label="value shape")
    values = np.random.default_rng(2).standard_normal(vshape)
    v, tv = ember.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    y, ty = x * 1.0, tx * 1.0
    y[key] = v
    ty[torch_key] = tv
    _check(y, ty)
    weight = np.random.default_rng(3).standard_normal(shape)
    (y * ember.tensor(weight)).sum().backward()
    (ty * torch.tensor(weight)).sum().backward()
    _check(x.grad, tx.grad)
    _check(v.grad, tv.grad)


def test_range_index():
    x = ember.arange(10.0)
    assert x[range(2, 8, 3)].tolist() == [2.0, 5.0]
    x[range(3)] = 0.0
    assert x[:4].tolist() == [0.0, 0.0, 0.0, 3.0]
    y = ember.arange(12).reshape(3, 4)
    assert y[range(1, 3), 1:].tolist() == [[5, 6, 7], [9, 10, 11]]
