"""Op-table rows for indexing: getitem, setitem, gather/scatter, index_*, masked_*, take, tril/triu.

Integer index inputs come from ``make_inputs`` (they reach the ops as int64 tensors and get no
gradient); boolean masks likewise. Every float input is differentiable.
"""

import numpy as np

from tests.ops.spec import OpSpec


def _inputs(*makers):
    """make_inputs from fixed arrays: floats are drawn at each call, ints and bools are fixed."""

    def make(rng, dtype):
        return [m(rng, dtype) if callable(m) else np.asarray(m) for m in makers]

    return make


def _f(*shape, lo=-2.0, hi=2.0):
    return lambda rng, dtype: rng.uniform(lo, hi, shape).astype(dtype)


def _i(*values):
    return np.asarray(values, dtype=np.int64)


_MASK = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])


def _set(key, value_fn=None):
    """``b = a.clone(); b[key] = value; return b`` with value the second input (or a number)."""

    def fn(m, a, *rest):
        b = a.clone()
        k = key(rest) if callable(key) else key
        b[k] = value_fn(rest) if value_fn else rest[-1]
        return b

    return fn


def _ref_set(key, value_fn=None):
    def ref(a, *rest):
        b = a.copy()
        k = key(rest) if callable(key) else key
        b[k] = value_fn(rest) if value_fn else rest[-1]
        return b

    return ref


def _dim_key(index, dim):
    return tuple(
        index if d == dim else np.arange(n).reshape([-1 if e == d else 1 for e in range(index.ndim)])
        for d, n in enumerate(index.shape)
    )


def _ref_scatter(a, dim, index, src, add=False):
    out = a.copy()
    key = _dim_key(index, dim)
    src = src[tuple(slice(0, n) for n in index.shape)] if np.ndim(src) else src
    if add:
        np.add.at(out, key, src)
    else:
        out[key] = src
    return out


def _ref_index_add(a, dim, index, source, alpha=1.0, copy=False):
    out = a.copy()
    key = (slice(None),) * dim + (index,)
    if copy:
        out[key] = source
    else:
        np.add.at(out, key, alpha * source)
    return out


def _ref_masked_scatter(a, mask, source):
    out = a.copy()
    out[mask] = source.ravel()[: mask.sum()]
    return out


_GETITEM = [
    OpSpec("getitem_int_slice", lambda m, a: a[1, ::2], lambda a: a[1, ::2], [(3, 4)], gradgrad=True),
    OpSpec("getitem_none_ellipsis", lambda m, a: a[None, ..., 1:3], lambda a: a[None, ..., 1:3], [(2, 3, 4)]),
    OpSpec("getitem_negative_int", lambda m, a: a[-1, -2], lambda a: a[-1, -2], [(3, 4)]),
    OpSpec("getitem_ellipsis_only", lambda m, a: a[...], lambda a: a[...], [(2, 3)], zero_dim=True),
    OpSpec(
        "getitem_int_tensor",
        lambda m, a, i: a[i],
        lambda a, i: a[i],
        [],
        make_inputs=_inputs(_f(4, 3), _i(0, 2, 0, 3)),
        gradgrad=True,
    ),
    OpSpec(
        "getitem_2d_int_tensor",
        lambda m, a, i: a[i],
        lambda a, i: a[i],
        [],
        make_inputs=_inputs(_f(4, 3), _i([0, 1], [1, 1], [3, -1])),
    ),
    OpSpec(
        "getitem_adv_split_by_slice",
        lambda m, a, i, j: a[i, :, j],
        lambda a, i, j: a[i, :, j],
        [],
        make_inputs=_inputs(_f(3, 4, 5), _i(0, 2, 2), _i(4, 1, 0)),
        gradgrad=True,
    ),
    OpSpec(
        "getitem_adv_adjacent",
        lambda m, a, i, j: a[:, i, j],
        lambda a, i, j: a[:, i, j],
        [],
        make_inputs=_inputs(_f(3, 4, 5), _i([0], [3]), _i(1, 1, 4)),
    ),
    OpSpec(
        "getitem_adv_with_none",
        lambda m, a, i: a[None, 1:, i],
        lambda a, i: a[None, 1:, i],
        [],
        make_inputs=_inputs(_f(3, 4), _i(0, 3, 3)),
    ),
    OpSpec("getitem_list", lambda m, a: a[[0, 2, 2]], lambda a: a[[0, 2, 2]], [(3, 4)]),
    OpSpec(
        "getitem_bool_mask",
        lambda m, a, k: a[k],
        lambda a, k: a[k],
        [],
        make_inputs=_inputs(_f(3, 4), _MASK),
        gradgrad=True,
    ),
    OpSpec(
        "getitem_bool_row_mask",
        lambda m, a, k: a[k, 1:],
        lambda a, k: a[k, 1:],
        [],
        make_inputs=_inputs(_f(3, 4), np.array([True, False, True])),
    ),
    OpSpec(
        "getitem_zero_dim_index",
        lambda m, a, i: a[i, 1:],
        lambda a, i: a[i, 1:],
        [],
        make_inputs=_inputs(_f(3, 4), np.int64(2)),
    ),
    OpSpec(
        "getitem_one_element_index",
        lambda m, a, i: a[:, i],
        lambda a, i: a[:, i],
        [],
        make_inputs=_inputs(_f(3, 4), _i(3)),
    ),
]

_SETITEM = [
    OpSpec(
        "setitem_slice_tensor",
        _set((slice(None), 1)),
        _ref_set((slice(None), 1)),
        [(3, 4), (3,)],
        gradgrad=True,
    ),
    OpSpec("setitem_broadcast_value", _set(slice(1, 3)), _ref_set(slice(1, 3)), [(3, 4), (1, 4)]),
    OpSpec("setitem_leading_ones", _set(0), _ref_set(0), [(3, 4), (1, 1, 4)]),
    OpSpec(
        "setitem_number",
        lambda m, a: _set((1, slice(None, None, 2)), lambda r: 0.5)(m, a),
        _ref_set((1, slice(None, None, 2)), lambda r: 0.5),
        [(3, 4)],
    ),
    OpSpec(
        "setitem_int_tensor",
        _set(lambda r: r[0]),
        _ref_set(lambda r: r[0]),
        [],
        make_inputs=_inputs(_f(4, 3), _i(3, 0), _f(2, 3)),
        gradgrad=True,
    ),
    OpSpec(
        "setitem_bool_mask_number",
        _set(lambda r: r[0], lambda r: -1.0),
        _ref_set(lambda r: r[0], lambda r: -1.0),
        [],
        make_inputs=_inputs(_f(3, 4), _MASK),
    ),
    OpSpec(
        "setitem_bool_mask_tensor",
        _set(lambda r: r[0]),
        _ref_set(lambda r: r[0]),
        [],
        make_inputs=_inputs(_f(3, 4), _MASK, _f(1)),
    ),
    OpSpec(
        "index_put_accumulate",
        lambda m, a, i, v: a.index_put((i,), v, accumulate=True),
        lambda a, i, v: _ref_index_add(a, 0, i, v),
        [],
        make_inputs=_inputs(_f(4, 3), _i(1, 1, 3), _f(3, 3)),
    ),
    OpSpec(
        "index_put_two_indices",
        lambda m, a, i, j, v: m.index_put(a, (i, j), v),
        _ref_set(lambda r: (r[0], r[1])),
        [],
        make_inputs=_inputs(_f(4, 3), _i(1, 3), _i(2, 0), _f(2)),
    ),
]

_GATHER_SCATTER = [
    OpSpec(
        "gather_dim1",
        lambda m, a, i: a.gather(1, i),
        lambda a, i: np.take_along_axis(a, i, 1),
        [],
        make_inputs=_inputs(_f(3, 4), _i([0, 3], [1, 1], [2, 0])),
        gradgrad=True,
    ),
    OpSpec(
        "gather_dim0_small_index",
        lambda m, a, i: m.gather(a, 0, i),
        lambda a, i: a[_dim_key(i, 0)],
        [],
        make_inputs=_inputs(_f(3, 4), _i([2, 0, 1], [2, 2, 2])),
    ),
    OpSpec(
        "scatter_src",
        lambda m, a, i, s: a.scatter(1, i, s),
        lambda a, i, s: _ref_scatter(a, 1, i, s),
        [],
        make_inputs=_inputs(_f(3, 4), _i([0, 3], [2, 1], [1, 0]), _f(3, 2)),
    ),
    OpSpec(
        "scatter_src_larger",
        lambda m, a, i, s: a.scatter(1, i, s),
        lambda a, i, s: _ref_scatter(a, 1, i, s),
        [],
        make_inputs=_inputs(_f(3, 4), _i([0, 3], [2, 1], [1, 0]), _f(3, 3)),
        torch=False,
    ),  # PyTorch's backward fails when src is larger than index
    OpSpec(
        "scatter_value",
        lambda m, a, i: a.scatter(0, i, 1.5),
        lambda a, i: _ref_scatter(a, 0, i, 1.5),
        [],
        make_inputs=_inputs(_f(3, 4), _i([2, 0, 1, 1])),
    ),
    OpSpec(
        "scatter_inplace",
        lambda m, a, i, s: a.clone().scatter_(1, i, s),
        lambda a, i, s: _ref_scatter(a, 1, i, s),
        [],
        make_inputs=_inputs(_f(3, 4), _i([0, 3], [2, 1], [1, 0]), _f(3, 2)),
    ),
    OpSpec(
        "scatter_add",
        lambda m, a, i, s: a.scatter_add(0, i, s),
        lambda a, i, s: _ref_scatter(a, 0, i, s, True),
        [],
        make_inputs=_inputs(_f(3, 4), _i([2, 0, 2, 1], [2, 2, 0, 1]), _f(2, 4)),
    ),
    OpSpec(
        "scatter_add_inplace",
        lambda m, a, i, s: a.clone().scatter_add_(1, i, s),
        lambda a, i, s: _ref_scatter(a, 1, i, s, True),
        [],
        make_inputs=_inputs(_f(2, 3), _i([0, 0, 2, 0], [1, 1, 1, 1]), _f(2, 4)),
    ),
    OpSpec(
        "scatter_reduce_sum",
        lambda m, a, i, s: a.scatter_reduce(0, i, s, "sum", include_self=False),
        None,
        [],
        make_inputs=_inputs(_f(3, 4), _i([2, 0, 2, 2]), _f(1, 4)),
    ),
    OpSpec(
        "scatter_reduce_mean",
        lambda m, a, i, s: a.scatter_reduce(1, i, s, "mean"),
        None,
        [],
        make_inputs=_inputs(_f(2, 3), _i([0, 0, 2], [1, 1, 1]), _f(2, 3)),
    ),
]

_ALONG_DIM = [
    OpSpec(
        "index_select_dim0",
        lambda m, a, i: a.index_select(0, i),
        lambda a, i: a[i],
        [],
        make_inputs=_inputs(_f(4, 3), _i(3, 0, 3)),
        gradgrad=True,
    ),
    OpSpec(
        "index_select_dim1",
        lambda m, a, i: m.index_select(a, -1, i),
        lambda a, i: a[..., i],
        [],
        make_inputs=_inputs(_f(2, 4, 3), _i(2, 0)),
    ),
    OpSpec(
        "index_add_alpha",
        lambda m, a, i, s: a.index_add(0, i, s, alpha=2.0),
        lambda a, i, s: _ref_index_add(a, 0, i, s, 2.0),
        [],
        make_inputs=_inputs(_f(4, 3), _i(0, 2, 0), _f(3, 3)),
    ),
    OpSpec(
        "index_add_inplace",
        lambda m, a, i, s: a.clone().index_add_(1, i, s),
        lambda a, i, s: _ref_index_add(a, 1, i, s),
        [],
        make_inputs=_inputs(_f(2, 4), _i(3, 3), _f(2, 2)),
    ),
    OpSpec(
        "index_copy",
        lambda m, a, i, s: a.index_copy(0, i, s),
        lambda a, i, s: _ref_index_add(a, 0, i, s, copy=True),
        [],
        make_inputs=_inputs(_f(4, 3), _i(3, 1), _f(2, 3)),
    ),
    OpSpec(
        "index_copy_inplace",
        lambda m, a, i, s: a.clone().index_copy_(1, i, s),
        lambda a, i, s: _ref_index_add(a, 1, i, s, copy=True),
        [],
        make_inputs=_inputs(_f(2, 4), _i(0, 2), _f(2, 2)),
    ),
    OpSpec(
        "index_fill_number",
        lambda m, a, i: a.index_fill(1, i, -1.0),
        lambda a, i: _ref_index_add(a, 1, i, -1.0, copy=True),
        [],
        make_inputs=_inputs(_f(3, 4), _i(0, 3)),
    ),
    OpSpec(
        "index_fill_tensor_inplace",
        lambda m, a, i, v: a.clone().index_fill_(0, i, v),
        lambda a, i, v: _ref_index_add(a, 0, i, v, copy=True),
        [],
        make_inputs=_inputs(_f(3, 4), _i(2), _f()),
    ),
]

_MASKED = [
    OpSpec(
        "masked_fill_broadcast_mask",
        lambda m, a, k: a.masked_fill(k, 0.25),
        lambda a, k: np.where(k, 0.25, a),
        [],
        make_inputs=_inputs(_f(3, 4), np.array([True, False, False, True])),
        gradgrad=True,
    ),
    OpSpec(
        "masked_fill_tensor_value",
        lambda m, a, k, v: m.masked_fill(a, k, v),
        lambda a, k, v: np.where(k, v, a),
        [],
        make_inputs=_inputs(_f(3, 4), _MASK, _f()),
        gradgrad=True,
    ),
    OpSpec(
        "masked_fill_inplace",
        lambda m, a, k: a.clone().masked_fill_(k, -3.0),
        lambda a, k: np.where(k, -3.0, a),
        [],
        make_inputs=_inputs(_f(3, 4), _MASK),
    ),
    OpSpec(
        "masked_select_broadcast",
        lambda m, a, k: a.masked_select(k),
        lambda a, k: a[np.broadcast_to(k, a.shape)],
        [],
        make_inputs=_inputs(_f(3, 4), np.array([False, True, True, False])),
    ),
    OpSpec(
        "masked_scatter",
        lambda m, a, k, s: a.masked_scatter(k, s),
        _ref_masked_scatter,
        [],
        make_inputs=_inputs(_f(3, 4), _MASK, _f(3, 3)),
    ),
]

_OTHERS = [
    OpSpec(
        "take",
        lambda m, a, i: m.take(a, i),
        lambda a, i: a.ravel()[i],
        [],
        make_inputs=_inputs(_f(3, 4), _i([0, 11], [-1, 5])),
    ),
    OpSpec(
        "take_along_dim",
        lambda m, a, i: a.take_along_dim(i, 1),
        lambda a, i: np.take_along_axis(a, i, 1),
        [],
        make_inputs=_inputs(_f(3, 4), _i([0, 3], [1, 1], [2, 0])),
    ),
    OpSpec(
        "take_along_dim_broadcast",
        lambda m, a, i: m.take_along_dim(a, i, dim=0),
        lambda a, i: np.take_along_axis(a, np.broadcast_to(i, (2, 4)), 0),
        [],
        make_inputs=_inputs(_f(3, 4), _i([2], [0])),
    ),
    OpSpec(
        "take_along_dim_flat",
        lambda m, a, i: a.take_along_dim(i),
        lambda a, i: a.ravel()[i],
        [],
        make_inputs=_inputs(_f(3, 4), _i(7, 0, 7)),
    ),
    OpSpec(
        "nonzero",
        lambda m, a: m.nonzero(a),
        np.argwhere,
        [],
        differentiable=False,
        make_inputs=lambda rng, dt: [np.round(rng.uniform(-1, 1, (3, 4))).astype(dt)],
    ),
    OpSpec(
        "nonzero_as_tuple",
        lambda m, a: a.nonzero(as_tuple=True),
        np.nonzero,
        [],
        differentiable=False,
        make_inputs=lambda rng, dt: [np.round(rng.uniform(-1, 1, (2, 3, 2))).astype(dt)],
    ),
    OpSpec(
        "argwhere",
        lambda m, a: m.argwhere(a),
        np.argwhere,
        [],
        differentiable=False,
        make_inputs=_inputs(np.array([[0, 3], [0, 0], [4, 1]])),
    ),
    OpSpec("tril", lambda m, a: a.tril(), np.tril, [(3, 4)], gradgrad=True),
    OpSpec("tril_batched_diagonal", lambda m, a: m.tril(a, -1), lambda a: np.tril(a, -1), [(2, 3, 4)]),
    OpSpec("triu_diagonal", lambda m, a: m.triu(a, 1), lambda a: np.triu(a, 1), [(4, 3)]),
    OpSpec("triu_inplace", lambda m, a: a.clone().triu_(-1), lambda a: np.triu(a, -1), [(2, 4, 4)]),
    OpSpec("tril_inplace", lambda m, a: (a * 1).tril_(2), lambda a: np.tril(a, 2), [(3, 3)]),
]

SPECS = _GETITEM + _SETITEM + _GATHER_SCATTER + _ALONG_DIM + _MASKED + _OTHERS
