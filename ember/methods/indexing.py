"""Indexing methods: ``__getitem__``, ``__setitem__``, gather/scatter and friends.

Every op here builds a key for the primitives in ``ember.ops.indexing``: ``a[key]`` (a view
for ints, slices, None and Ellipsis; a copy when the key holds index arrays) or ``a`` with
values written at ``key`` (``IndexPut``). gather, index_select and take are ``a[key]``;
scatter, index_add, index_copy, index_fill, masked_scatter and ``__setitem__`` are
``IndexPut``. In-place twins go through ``_put``, which writes straight into the array when
no graph is recorded.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from ember import creation, dtypes
from ember.methods._util import wrap_dim
from ember.methods.index_keys import _check_device, _is_tensor, _shape, parse_key
from ember.methods.scatter_extremes import scatter_extreme
from ember.ops import indexing as ops
from ember.ops.indexing import along_dim_key, check_bounds, dim_key
from ember.tensor_core import make

# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = [
    "gather",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_select",
    "index_add",
    "index_copy",
    "index_fill",
    "index_put",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "take",
    "take_along_dim",
    "nonzero",
    "argwhere",
    "tril",
    "triu",
]
__all__: list = []  # free functions defined here

_NUMBER = (int, float, bool)
_REDUCE_MODES = {None: None, "add": "add", "multiply": "multiply"}


# -- shared checks --------------------------------------------------------------------------
def _int_index(t, index, op: str, error=RuntimeError):
    """The array of an int32/int64 index Tensor, checked for dtype and device."""
    if not _is_tensor(index):
        raise TypeError(f"{op}(): index must be a Tensor of dtype int64, got {type(index).__name__}")
    _check_device(t, index, op)
    if index._data.dtype.kind != "i" or index._data.dtype.itemsize not in (4, 8):
        raise error(
            f"{op}(): Expected dtype int32/int64 for index, got {index.dtype} (index shape "
            f"{_shape(index)}, input shape {_shape(t)})"
        )
    return index._data


def _vector_index(t, index, dim: int, op: str, error=IndexError):
    idx = _int_index(t, index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got index of shape {list(idx.shape)}")
    idx = idx.reshape(-1)
    size = t._data.shape[dim] if t._data.ndim else 1
    check_bounds(t.xp, idx, size, dim, f"{op}()", negative=False, error=error)
    return idx


def _scalar_value(t, value, op: str):
    """A fill value: a number, or a 0-d Tensor cast to ``t``'s dtype (differentiable)."""
    if _is_tensor(value):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s) (shape {_shape(value)})"
            )
        _check_device(t, value, op)
        return value._cast(t._data.dtype)
    if isinstance(value, _NUMBER) or hasattr(value, "item"):
        return value.item() if hasattr(value, "item") else value
    raise TypeError(f"{op}: value must be a number or a 0-d Tensor, got {type(value).__name__}")


def _value_operand(t, value, op: str):
    """A value to write: a Tensor cast to ``t``'s dtype, or a Python number."""
    if _is_tensor(value):
        _check_device(t, value, op)
        return value._cast(t._data.dtype)
    if isinstance(value, _NUMBER):
        return value
    if hasattr(value, "ndim") and value.ndim == 0 and hasattr(value, "item"):
        return value.item()
    return creation.as_tensor(value, dtype=t.dtype, device=t.device)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    out = []
    for i in range(1, builtins.max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                f"dimension {builtins.max(len(a), len(b)) - i}"
            )
        out.append(builtins.max(x, y) if 0 not in (x, y) else 0)
    return tuple(reversed(out))


def _bool_mask(t, mask, op: str):
    if not _is_tensor(mask) or mask._data.dtype.kind != "b":
        got = mask.dtype if _is_tensor(mask) else type(mask).__name__
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {got}")
    _check_device(t, mask, op)
    return mask


def _check_same_shape_but(t, src, dim: int, n_index: int, op: str) -> None:
    own, other = t._data.shape, src._data.shape
    if len(other) != len(own) or builtins.any(a != b for d, (a, b) in enumerate(zip(own, other)) if d != dim):
        raise RuntimeError(
            f"{op}(): source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(own)} source.shape = {list(other)}"
        )
    if len(other) and other[dim] != n_index:
        raise RuntimeError(
            f"{op}(): Number of indices ({n_index}) should be equal to source.size(dim): "
            f"({other[dim]}), for dim: {dim}"
        )


def _check_scatter(t, dim: int, idx, src, op: str) -> None:
    own = t._data.shape
    if idx.ndim != len(own):
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as self tensor "
            f"(index shape {list(idx.shape)}, self shape {list(own)})"
        )
    src_shape = src._data.shape if _is_tensor(src) else None
    too_big = builtins.any(n > own[d] for d, n in enumerate(idx.shape) if d != dim)
    if src_shape is not None:
        too_big = (
            too_big or len(src_shape) != idx.ndim or builtins.any(n > s for n, s in zip(idx.shape, src_shape))
        )
    if too_big:
        raise RuntimeError(
            f"{op}(): Expected index {list(idx.shape)} to be no larger than self {list(own)} apart "
            f"from dimension {dim}"
            + (f" and to be no larger size than src {list(src_shape)}" if src_shape else "")
        )
    check_bounds(t.xp, idx, own[dim], dim, f"{op}()", negative=False, error=RuntimeError)


class IndexingMethods:
    """Tensor methods that read or write parts of a tensor (mixed into ``ember.Tensor``)."""

    __slots__ = ()

    # -- [] ------------------------------------------------------------------------------
    def __getitem__(self, key):
        """``t[key]``: a view for ints, slices, None and ``...``; a copy with index tensors or masks."""
        if type(key) is int:  # t[i] in range, the commonest key, as parse_key would give it
            shape = self._data.shape
            if shape and -shape[0] <= key < shape[0]:
                return ops.index(self, ((key,), None))
        key = parse_key(self, key, "__getitem__")
        return ops.index(self, key)

    def __setitem__(self, key, value) -> None:
        """``t[key] = value``: a Tensor (broadcast and cast to ``t``'s dtype) or a number."""
        if key is False or (type(key) is np.bool_ and not key):
            _value_operand(self, value, "__setitem__")  # x[False] = v writes nothing, as in PyTorch
            return
        self._put("__setitem__", parse_key(self, key, "__setitem__"), value, None)

    def _put(self, op: str, key, value, mode):
        """Write ``value`` at ``key`` in place; straight into the array when no graph is recorded."""
        value = _value_operand(self, value, op)
        if not self._needs_graph(value):
            ops.assign(self.xp, self._data, key, value._data if _is_tensor(value) else value, mode, op)
            self._bump_version(op)
            return self
        return self._set_from(op, ops.IndexPut.apply(self, key, value, mode))

    def _index_put_args(self, indices, op: str):
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"{op}(): indices must be a tuple of Tensors, got {type(indices).__name__}")
        return parse_key(self, tuple(slice(None) if i is None else i for i in indices), op)

    def index_put(self, indices, values, accumulate: bool = False):
        """A copy with ``values`` written (or, with ``accumulate``, added) at ``self[indices]``."""
        key = self._index_put_args(indices, "index_put")
        values = _value_operand(self, values, "index_put")
        return ops.IndexPut.apply(self, key, values, "add" if accumulate else None)

    def index_put_(self, indices, values, accumulate: bool = False):
        key = self._index_put_args(indices, "index_put_")
        return self._put("index_put_", key, values, "add" if accumulate else None)

    # -- gather / scatter ----------------------------------------------------------------
    def gather(self, dim: int, index, *, sparse_grad: bool = False):
        """``out[i][j] = self[index[i][j]][j]`` (for dim 0): pick along ``dim`` at ``index``."""
        idx = _int_index(self, index, "gather")
        if idx.ndim == 0 and self._data.ndim <= 1:  # a 0-d index counts as 1-d, as in PyTorch
            return self.reshape(-1).gather(0, index.reshape(1)).reshape(())
        dim = wrap_dim(dim, self._data.ndim, "gather")
        own = self._data.shape
        if idx.ndim != len(own):
            raise RuntimeError(
                f"gather(): Index tensor must have the same number of dimensions as input tensor "
                f"(index shape {list(idx.shape)}, input shape {list(own)})"
            )
        if builtins.any(n > own[d] for d, n in enumerate(idx.shape) if d != dim):
            raise RuntimeError(
                f"gather(): Size does not match: expected index {list(idx.shape)} to be no larger "
                f"than self {list(own)} apart from dimension {dim}"
            )
        check_bounds(self.xp, idx, own[dim], dim, "gather()", negative=False, error=RuntimeError)
        return ops.index(self, along_dim_key(self.xp, idx, dim))

    def _scatter_args(self, op: str, dim: int, index, src):
        dim = wrap_dim(dim, self._data.ndim, op)
        idx = _int_index(self, index, op)
        _check_scatter(self, dim, idx, src, op)
        if _is_tensor(src):
            _check_device(self, src, op)
            value = src[tuple(slice(0, n) for n in idx.shape)]._cast(self._data.dtype)
        else:
            value = _scalar_value(self, src, op)
        return along_dim_key(self.xp, idx, dim), value

    def scatter(self, dim: int, index, src=None, *, value=None, reduce=None):
        """A copy with ``src`` (a Tensor or number) written along ``dim`` at ``index``."""
        key, value = self._scatter_args("scatter", dim, index, value if src is None else src)
        return ops.IndexPut.apply(self, key, value, _reduce_mode(reduce))

    def scatter_(self, dim: int, index, src=None, *, value=None, reduce=None):
        key, value = self._scatter_args("scatter_", dim, index, value if src is None else src)
        return self._put("scatter_", key, value, _reduce_mode(reduce))

    def scatter_add(self, dim: int, index, src):
        """A copy with ``src`` added along ``dim`` at ``index`` (repeated indices accumulate)."""
        key, value = self._scatter_args("scatter_add", dim, index, src)
        return ops.IndexPut.apply(self, key, value, "add")

    def scatter_add_(self, dim: int, index, src):
        key, value = self._scatter_args("scatter_add_", dim, index, src)
        return self._put("scatter_add_", key, value, "add")

    def scatter_reduce(self, dim: int, index, src, reduce: str, *, include_self: bool = True):
        """Reduce ``src`` into ``self`` along ``dim`` at ``index`` by sum, prod, mean, amax or amin."""
        if reduce not in ("sum", "mean", "prod", "amax", "amin"):
            raise RuntimeError(
                f"scatter_reduce(): reduce argument must be either sum, prod, mean, amax or amin, "
                f"got {reduce!r}"
            )
        if reduce == "mean" and not dtypes.is_floating_np(self._data.dtype):
            raise RuntimeError(
                f"scatter_reduce(): reduce='mean' needs a floating point tensor, got {self.dtype}"
            )
        key, value = self._scatter_args("scatter_reduce", dim, index, src)
        if reduce in ("prod", "amax", "amin"):
            return scatter_extreme(self, key, value, reduce, include_self)
        base = self if include_self else ops.IndexPut.apply(self, key, 0.0, None)
        out = ops.IndexPut.apply(base, key, value, "add")
        if reduce == "mean":
            counts = self.xp.full(self._data.shape, int(include_self), self._data.dtype)
            ops.ufunc_at(self.xp, "add", counts, key[1], 1)
            counts[counts == 0] = 1
            out = out / make(counts)
        return out

    # -- along one dim -------------------------------------------------------------------
    def index_select(self, dim: int, index):
        """The slices of ``self`` along ``dim`` at the positions in the 1-D ``index``."""
        dim = wrap_dim(dim, self._data.ndim, "index_select")
        idx = _vector_index(self, index, dim, "index_select")
        if self._data.ndim == 0:
            return self.reshape(1)[idx].reshape(())
        return ops.index(self, dim_key(idx, dim))

    def _index_source_args(self, op: str, dim: int, index, source):
        dim = wrap_dim(dim, self._data.ndim, op)
        idx = _vector_index(self, index, dim, op, IndexError if "copy" in op else RuntimeError)
        if not _is_tensor(source):
            raise TypeError(f"{op}(): source must be a Tensor, got {type(source).__name__}")
        _check_device(self, source, op)
        _check_same_shape_but(self, source, dim, idx.size, op)
        return dim_key(idx, dim), source._cast(self._data.dtype)

    def index_add(self, dim: int, index, source, *, alpha=1):
        """A copy with ``alpha * source`` added along ``dim`` at ``index`` (repeats accumulate)."""
        key, source = self._index_source_args("index_add", dim, index, source)
        return ops.IndexPut.apply(self, key, source if alpha == 1 else source * alpha, "add")

    def index_add_(self, dim: int, index, source, *, alpha=1):
        key, source = self._index_source_args("index_add_", dim, index, source)
        return self._put("index_add_", key, source if alpha == 1 else source * alpha, "add")

    def index_copy(self, dim: int, index, source):
        """A copy with the slices of ``source`` written along ``dim`` at ``index``."""
        key, source = self._index_source_args("index_copy", dim, index, source)
        return ops.IndexPut.apply(self, key, source, None)

    def index_copy_(self, dim: int, index, source):
        key, source = self._index_source_args("index_copy_", dim, index, source)
        return self._put("index_copy_", key, source, None)

    def _index_fill_args(self, op: str, dim: int, index, value):
        dim = wrap_dim(dim, self._data.ndim, op)
        idx = _vector_index(self, index, dim, op)
        return dim_key(idx, dim), _scalar_value(self, value, op)

    def index_fill(self, dim: int, index, value):
        """A copy with ``value`` (a number or 0-d Tensor) along ``dim`` at ``index``."""
        key, value = self._index_fill_args("index_fill", dim, index, value)
        return ops.IndexPut.apply(self, key, value, None)

    def index_fill_(self, dim: int, index, value):
        key, value = self._index_fill_args("index_fill_", dim, index, value)
        return self._put("index_fill_", key, value, None)

    # -- masks ---------------------------------------------------------------------------
    def masked_fill(self, mask, value):
        """``value`` (a number or 0-d Tensor) where ``mask`` is true, ``self`` elsewhere."""
        mask = _bool_mask(self, mask, "masked_fill")
        value = _scalar_value(self, value, "masked_fill")
        _broadcast_shape(self._data.shape, mask._data.shape)
        return ops.MaskedFill.apply(self, mask, value)

    def masked_fill_(self, mask, value):
        return self._set_from("masked_fill_", self.masked_fill(mask, value))

    def masked_select(self, mask):
        """The elements where ``mask`` (broadcast with ``self``) is true, as a 1-D tensor."""
        mask = _bool_mask(self, mask, "masked_select")
        shape = _broadcast_shape(self._data.shape, mask._data.shape)
        if not shape:
            return self.reshape(1).masked_select(mask.reshape(1))
        full_mask = self.xp.broadcast_to(mask._data, shape)
        return ops.index(self.expand(shape), (None, tuple(self.xp.nonzero(full_mask))))

    def _masked_scatter_args(self, op: str, mask, source):
        mask = _bool_mask(self, mask, op)
        if not _is_tensor(source):
            raise TypeError(f"{op}(): source must be a Tensor, got {type(source).__name__}")
        full_mask = self.xp.broadcast_to(mask._data, _broadcast_shape(self._data.shape, mask._data.shape))
        if full_mask.shape != self._data.shape:
            raise RuntimeError(
                f"{op}(): mask of shape {_shape(mask)} does not broadcast to self {_shape(self)}"
            )
        count = int(self.xp.count_nonzero(full_mask))
        if source._data.size < count:
            raise RuntimeError(
                f"{op}(): Number of elements of source ({source._data.size}) < number of ones in mask "
                f"({count})"
            )
        value = source.reshape(-1)[:count]._cast(self._data.dtype)
        return (None, tuple(self.xp.nonzero(full_mask))), value

    def masked_scatter(self, mask, source):
        """A copy with the first elements of ``source`` written, in order, where ``mask`` is true."""
        key, value = self._masked_scatter_args("masked_scatter", mask, source)
        return ops.IndexPut.apply(self, key, value, None)

    def masked_scatter_(self, mask, source):
        key, value = self._masked_scatter_args("masked_scatter_", mask, source)
        return self._put("masked_scatter_", key, value, None)

    # -- flat and along-dim picks --------------------------------------------------------
    def take(self, index):
        """The elements of ``self`` seen as 1-D at ``index``; the result has ``index``'s shape."""
        idx = _int_index(self, index, "take", IndexError)
        n = self._data.size
        bad = (idx < -n) | (idx >= n)
        if idx.size and bool(bad.any()):
            raise IndexError(
                f"take(): out of range: tried to access index {int(idx[bad].ravel()[0])} on a tensor "
                f"of {n} elements (shape {_shape(self)})."
            )
        return ops.index(self.reshape(-1), (None, (idx,)))

    def take_along_dim(self, indices, dim: int | None = None):
        """``gather`` with ``indices`` broadcast against ``self`` (or over the flattened tensor)."""
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        own, other = self._data.shape, indices._data.shape
        if len(own) != len(other):
            raise RuntimeError(
                f"take_along_dim(): input and indices should have the same number of dimensions, but "
                f"input has {len(own)} dimensions and indices has {len(other)} dimensions"
            )
        dim = wrap_dim(dim, len(own), "take_along_dim")
        shape = list(
            _broadcast_shape(own[:dim] + (1,) + own[dim + 1 :], other[:dim] + (1,) + other[dim + 1 :])
        )
        src_shape, idx_shape = list(shape), list(shape)
        src_shape[dim], idx_shape[dim] = own[dim], other[dim]
        return self.expand(src_shape).gather(dim, indices.expand(idx_shape))

    def nonzero(self, *, as_tuple: bool = False):
        """Indices of the non-zero elements: ``(n, ndim)`` int64, or one 1-D tensor per dim."""
        return ops.Nonzero.apply(self, as_tuple)

    def argwhere(self):
        """Indices of the non-zero elements as an ``(n, ndim)`` int64 tensor."""
        return ops.Nonzero.apply(self, False)

    # -- triangles -----------------------------------------------------------------------
    def _triangle(self, op: str, diagonal: int, upper: bool):
        if self._data.ndim < 2:
            raise RuntimeError(
                f"{op}: input tensor must have at least 2 dimensions, got shape {_shape(self)}"
            )
        return ops.Triangle.apply(self, operator.index(diagonal), upper)

    def tril(self, diagonal: int = 0):
        """The lower triangle of the last two dims (on and below ``diagonal``); zeros elsewhere."""
        return self._triangle("tril", diagonal, False)

    def triu(self, diagonal: int = 0):
        """The upper triangle of the last two dims (on and above ``diagonal``); zeros elsewhere."""
        return self._triangle("triu", diagonal, True)

    def tril_(self, diagonal: int = 0):
        return self._set_from("tril_", self.tril(diagonal))

    def triu_(self, diagonal: int = 0):
        return self._set_from("triu_", self.triu(diagonal))


def _reduce_mode(reduce):
    if reduce not in _REDUCE_MODES:
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
    return _REDUCE_MODES[reduce]
