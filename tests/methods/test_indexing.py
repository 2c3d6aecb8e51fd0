"""Indexing beyond the op table: views, in-place writes with autograd, accumulation, errors."""

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def _pair(array, requires_grad=False):
    torch = torch_or_skip()
    return (
        ember.tensor(array, requires_grad=requires_grad),
        torch.tensor(array, requires_grad=requires_grad),
    )


def _arange(*shape):
    return ember.tensor(np.arange(float(np.prod(shape))).reshape(shape), dtype=ember.float32)


# -- views ---------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [1, (slice(None), 2), (None, Ellipsis, slice(1, None, 2)), (0, 1)])
def test_basic_indexing_is_a_view_sharing_memory_and_version(key):
    x = _arange(3, 4)
    v = x[key]
    assert np.shares_memory(v.numpy(), x.numpy())
    assert v._base is x
    x.add_(1.0)
    assert v._version == x._version == 1
    np.testing.assert_array_equal(v.numpy(), x.numpy()[key])


def test_writes_through_a_view_reach_the_base():
    x = _arange(3, 4)
    row = x[1]
    row[2] = 100.0
    row.mul_(2.0)
    assert x[1, 2].item() == 200.0
    assert x._version == row._version == 2
    x[0, ::2] = ember.tensor([-1.0, -2.0])
    np.testing.assert_array_equal(x.numpy()[0], [-1.0, 1.0, -2.0, 3.0])


def test_view_of_a_view_keeps_the_root_base():
    x = _arange(2, 3, 4)
    v = x[1][:, 1:]
    assert v._base is x
    v[0, 0] = -5.0
    assert x[1, 0, 1].item() == -5.0


@pytest.mark.parametrize("key", [[0, 2], (slice(None), [1, 1]), "mask", [True, False, True], True])
def test_advanced_indexing_copies(key):
    x = _arange(3, 4)
    if key == "mask":
        key = ember.tensor(np.arange(12).reshape(3, 4) % 3 == 0)
    out = x[key]
    assert out._base is None and not np.shares_memory(out.numpy(), x.numpy())
    x.add_(1.0)
    assert out._version == 0


@pytest.mark.parametrize("make_index", [lambda: ember.tensor(1), lambda: np.array(1), lambda: np.int64(1)])
def test_zero_dim_integer_index_selects_a_view_as_in_pytorch(make_index):
    torch = torch_or_skip()
    t = torch.randn(3, 4)
    assert t[torch.tensor(1)]._base is t
    x = _arange(3, 4)
    out = x[make_index(), 1:]
    assert out._base is x and out.tolist() == [5.0, 6.0, 7.0]


@pytest.mark.parametrize(
    "key",
    [
        (1, slice(None), [0, 1]),
        ([0, 1], slice(None), 1),
        (None, [0, 1], None, 1),
        ([0, 1], None, [0, 2]),
        (Ellipsis, [0, 1], 1),
        (slice(None), 1, [0, 1]),
        (True, 1, [2, 0]),
        ([[0], [1]], slice(1, 3), [1, 3]),
    ],
)
def test_ints_apply_before_index_tensors_as_in_pytorch(key):
    """PyTorch selects with ints first, so x[1, :, [0, 1]] has shape [3, 2] (NumPy says [2, 3])."""
    torch = torch_or_skip()
    base = np.random.default_rng(0).standard_normal((2, 3, 4))
    xe, xt = _pair(base, True)
    out_e, out_t = xe[key], xt[key]
    assert tuple(out_e.shape) == tuple(out_t.shape)
    np.testing.assert_array_equal(out_e.detach().numpy(), out_t.detach().numpy())
    w = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
    (out_e * ember.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    ye, yt = _pair(base)
    ye[key] = ember.tensor(w)
    yt[key] = torch.tensor(w)
    np.testing.assert_array_equal(ye.numpy(), yt.numpy())


def test_setitem_bumps_version_and_saved_tensors_notice():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    with ember.no_grad():
        y[0] = 5.0
    assert y._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# -- setitem with autograd -----------------------------------------------------------------
@pytest.mark.parametrize(
    "key", [(slice(1, None), 0), (Ellipsis, 1), ([0, 2], slice(None)), "mask", (1, [3, 0])]
)
def test_setitem_gradients_flow_to_base_and_value(key):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 4))
    if key == "mask":
        key_e = ember.tensor(base > 0)
        key_t = torch.tensor(base > 0)
    else:
        key_e = key_t = key
    target_shape = base[key if key != "mask" else base > 0].shape
    value = rng.standard_normal(target_shape[-1:] if target_shape else ())
    xe, xt = _pair(base, True)
    ve, vt = _pair(value, True)
    ye, yt = xe * 2, xt * 2
    ye[key_e] = ve * 3
    yt[key_t] = vt * 3
    assert ye.grad_fn is not None
    w = rng.standard_normal(base.shape)
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy())
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(ve.grad.numpy(), vt.grad.numpy())


def test_setitem_on_leaf_requiring_grad_raises_but_works_under_no_grad():
    x = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with ember.no_grad():
        x[0] = 1.0
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_setitem_casts_value_to_the_tensor_dtype():
    x = ember.zeros(3, dtype=ember.int64)
    x[0] = 1.7
    x[1:] = ember.tensor([2.9, -3.5])
    assert x.dtype == ember.int64 and x.tolist() == [1, 2, -3]
    y = ember.zeros(2)
    y[:] = ember.tensor([1.5, 2.5], dtype=ember.float64)
    assert y.dtype == ember.float32 and y.tolist() == [1.5, 2.5]


def test_setitem_with_numpy_and_list_values_and_indices():
    x = _arange(3, 4)
    x[np.array([0, 2]), 1] = np.array([-1.0, -2.0])
    x[[1]] = [[9.0, 8.0, 7.0, 6.0]]
    np.testing.assert_array_equal(x.numpy()[:, 1], [-1.0, 8.0, -2.0])
    np.testing.assert_array_equal(x.numpy()[1], [9.0, 8.0, 7.0, 6.0])


# -- repeated indices ----------------------------------------------------------------------
def test_repeated_indices_accumulate_in_backward():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_gather_and_index_select_with_repeats_accumulate():
    torch = torch_or_skip()
    base = np.random.default_rng(1).standard_normal((3, 4))
    idx = np.array([[0, 0, 0, 1], [2, 2, 1, 1]])
    xe, xt = _pair(base, True)
    (xe.gather(0, ember.tensor(idx)) * 2).sum().backward()
    (xt.gather(0, torch.tensor(idx)) * 2).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    xe.grad = None
    xt.grad = None
    xe.index_select(1, ember.tensor([3, 3, 3])).sum().backward()
    xt.index_select(1, torch.tensor([3, 3, 3])).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())


def test_index_put_accumulate_in_place_matches_torch():
    torch = torch_or_skip()
    xe, xt = ember.zeros(4), torch.zeros(4)
    xe.index_put_((ember.tensor([1, 1, 3]),), ember.tensor([1.0, 2.0, 3.0]), accumulate=True)
    xt.index_put_((torch.tensor([1, 1, 3]),), torch.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert xe.tolist() == xt.tolist() == [0.0, 3.0, 0.0, 3.0]


def test_in_place_twins_record_autograd_like_torch():
    torch = torch_or_skip()
    base = np.random.default_rng(2).standard_normal((3, 4))
    src = np.random.default_rng(3).standard_normal((2, 4))
    mask = base > 0.5
    results = []
    for m in (ember, torch):
        x = m.tensor(base, requires_grad=True)
        s = m.tensor(src, requires_grad=True)
        y = x * 1
        y.index_add_(0, m.tensor([2, 2]), s, alpha=0.5)
        y.masked_fill_(m.tensor(mask), 0.0)
        y.scatter_add_(1, m.tensor([[0, 0], [3, 1], [2, 2]]), y[:, :2] + 1.0)
        y.triu_()
        (y * y).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy(), s.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


# -- masks ---------------------------------------------------------------------------------
def test_boolean_mask_indexing_and_assignment():
    x = _arange(2, 3)
    mask = ember.tensor([[True, False, True], [False, False, True]])
    assert x[mask].tolist() == [0.0, 2.0, 5.0]
    assert x[np.array([False, True])].tolist() == [[3.0, 4.0, 5.0]]
    x[mask] = 0.0
    x[np.array([True, False]), 1] = ember.tensor(-1.0)
    assert x.tolist() == [[0.0, -1.0, 0.0], [3.0, 4.0, 0.0]]
    x[mask] = ember.tensor([7.0, 8.0, 9.0])
    assert x.tolist() == [[7.0, -1.0, 8.0], [3.0, 4.0, 9.0]]


def test_masked_fill_value_gets_gradient():
    v = ember.tensor(2.0, requires_grad=True)
    x = ember.ones(2, 3, requires_grad=True)
    mask = ember.tensor([True, False, True])
    x.masked_fill(mask, v).sum().backward()
    assert v.grad.item() == 4.0
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]


def test_nonzero_forms():
    x = ember.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]]
    rows, cols = ember.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert x.nonzero().dtype == ember.int64
    assert [t.tolist() for t in ember.where(x != 0)] == [[0, 1], [1, 0]]
    assert [t.tolist() for t in ember.tensor(5.0).nonzero(as_tuple=True)] == [[0]]
    assert tuple(ember.tensor(5.0).nonzero().shape) == (1, 0)


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: x[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
        (lambda x: x[0, -5], IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
        (
            lambda x: x[ember.tensor([0, 3])],
            IndexError,
            "index 3 is out of bounds for dimension 0 with size 3",
        ),
        (lambda x: x[::-1], ValueError, "step must be greater than zero"),
        (lambda x: x[::0], ValueError, "slice step cannot be zero"),
        (lambda x: x[0, 0, 0], IndexError, "too many indices for tensor of dimension 2"),
        (lambda x: x[..., ...], IndexError, "single ellipsis"),
        (
            lambda x: x[ember.tensor([0.0])],
            IndexError,
            "tensors used as indices must be long, int, byte or bool",
        ),
        (lambda x: x["a"], TypeError, "valid indices"),
        (
            lambda x: x[ember.tensor([True, False])],
            IndexError,
            "shape of the mask \\[2\\] at index 0 does not match",
        ),
        (lambda x: x.sum()[0], IndexError, "invalid index of a 0-dim tensor"),
        (
            lambda x: x.gather(0, ember.tensor([[0.0]])),
            RuntimeError,
            r"gather\(\): Expected dtype int32/int64 for index",
        ),
        (
            lambda x: x.gather(0, ember.tensor([[5]])),
            RuntimeError,
            "index 5 is out of bounds for dimension 0 with size 3",
        ),
        (lambda x: x.gather(0, ember.tensor([0])), RuntimeError, "same number of dimensions"),
        (
            lambda x: x.scatter(0, ember.tensor([[0, 1, 1, 1, 1]]), 1.0),
            RuntimeError,
            "to be no larger than self",
        ),
        (
            lambda x: x.scatter(0, ember.tensor([[0]]), 1.0, reduce="mean"),
            RuntimeError,
            "either add or multiply",
        ),
        (lambda x: x.index_select(0, ember.tensor([[0]])), IndexError, "Index is supposed to be a vector"),
        (
            lambda x: x.index_select(1, ember.tensor([4])),
            IndexError,
            "index 4 is out of bounds for dimension 1",
        ),
        (lambda x: x.index_add(0, ember.tensor([0, 1]), ember.ones(3, 4)), RuntimeError, "Number of indices"),
        (
            lambda x: x.index_copy(0, ember.tensor([0]), ember.ones(1, 2)),
            RuntimeError,
            "source tensor shape must match",
        ),
        (
            lambda x: x.masked_fill(ember.tensor([1, 0, 1, 0]), 1.0),
            RuntimeError,
            "only supports boolean masks",
        ),
        (lambda x: x.masked_fill(ember.tensor([True, False]), 1.0), RuntimeError, "must match the size"),
        (
            lambda x: x.masked_fill(ember.tensor([True] * 4), ember.ones(2)),
            RuntimeError,
            "0-dimensional value",
        ),
        (
            lambda x: x.masked_scatter(ember.tensor([True] * 4), ember.ones(3)),
            RuntimeError,
            "Number of elements",
        ),
        (
            lambda x: x.take(ember.tensor([12])),
            IndexError,
            "tried to access index 12 on a tensor of 12 elements",
        ),
        (lambda x: x[0].tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
        (lambda x: x.__setitem__(0, ember.ones(3)), RuntimeError, "shape mismatch"),
    ],
)
def test_errors_name_the_op_and_follow_pytorch(call, error, message):
    with pytest.raises(error, match=message):
        call(_arange(3, 4))


def test_errors_name_the_op():
    x = _arange(3, 4)
    with pytest.raises(IndexError, match="__getitem__"):
        x[3]
    with pytest.raises(IndexError, match="__setitem__"):
        x[3] = 1.0
    with pytest.raises(RuntimeError, match="scatter_add"):
        x.scatter_add(0, ember.tensor([[3]]), ember.ones(1, 1))


def test_setitem_through_a_view_reaches_the_base_history():
    torch = torch_or_skip()
    results = []
    for m in (ember, torch):
        w = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = m.zeros(2, 3)
        out[1][:2] = w[1:] * 3
        y = w.reshape(1, 3) * 1
        y[0][2] = 0.0
        ((out * out).sum() + (y * y).sum()).backward()
        results.append(w.grad.tolist())
    assert results[0] == results[1]


# -- the sorted row scatter behind embedding gradients and index_add ---------------------------
@pytest.mark.parametrize("rows, dim, draws", [(1000, 16, 1120), (7, 64, 2048), (3, 4096, 5)])
def test_row_scatter_matches_add_at(rows, dim, draws):
    from ember.ops.indexing import ufunc_at

    rng = np.random.default_rng(rows)
    index = rng.integers(-rows, rows, draws)
    values = rng.standard_normal((draws, dim))
    expected = rng.standard_normal((rows, dim))
    got = expected.copy()
    np.add.at(expected, (index,), values)
    ufunc_at(np, "add", got, (index,), values)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_row_scatter_broadcasts_values_and_takes_nd_indices():
    from ember.ops.indexing import ufunc_at

    index = np.random.default_rng(0).integers(0, 50, (40, 30))
    expected, got = np.zeros((50, 16)), np.zeros((50, 16))
    np.add.at(expected, (index,), np.arange(16.0))
    ufunc_at(np, "add", got, (index,), np.arange(16.0))
    np.testing.assert_array_equal(got, expected)


def test_row_scatter_out_of_range_raises_and_writes_nothing():
    from ember.ops.indexing import ufunc_at

    out = np.zeros((10, 1000))
    with pytest.raises(IndexError):
        ufunc_at(np, "add", out, (np.array([0, 3, 10]),), np.ones((3, 1000)))
    assert not out.any()


def test_embedding_gradient_sums_repeated_rows():
    weight = ember.zeros(5, 4096, requires_grad=True)
    ember.nn.functional.embedding(ember.tensor([[1, 3, 1], [1, 0, 3]]), weight).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy()[:, 0], [1, 3, 0, 2, 0])
