"""Index keys: what ``t[key]``, ``t[key] = v`` and ``index_put`` were given, as the
``(basic, advanced)`` key of ``ember.ops.indexing``.

As in PyTorch, ints, slices, None and ``...`` are applied first (a view); index tensors, lists
and masks then index that view, each at the dim it now sits at, with NumPy's rules from there.
"""

from __future__ import annotations

import builtins
import operator
import warnings

import numpy as np

from ember import backend
from ember.ops.indexing import check_bounds
from ember.tensor_core import TensorBase


def _is_tensor(x) -> bool:
    return isinstance(x, TensorBase)


def _shape(t) -> list:
    return list(t._data.shape)


def _check_device(t, other, op: str) -> None:
    if other.device != t.device:
        raise RuntimeError(
            f"{op}: expected all tensors to be on the same device, but the tensor is on "
            f"{t.device} and the index or value on {other.device}"
        )


def _index_array(t, item, op: str):
    """An index that is a Tensor, ndarray or (nested) list, as an array of ``t``'s backend."""
    if _is_tensor(item):
        _check_device(t, item, op)
        arr = item._data
    else:
        arr = np.asarray(item)
        if arr.dtype == object:
            raise TypeError(f"{op}: cannot index with a sequence of mixed or non-integer items: {item!r}")
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)  # x[[]] selects nothing
        arr = backend.to_device(arr, t.device)
    kind = arr.dtype.kind
    if kind == "u" and arr.dtype.itemsize == 1:
        return arr != 0  # uint8 tensors are masks, as in PyTorch
    if kind not in "biu":
        raise IndexError(
            f"{op}: tensors used as indices must be long, int, byte or bool tensors, got {arr.dtype} "
            f"(indexing a tensor of shape {_shape(t)})"
        )
    return arr


def _convert_item(t, item, op: str):
    kind = type(item)
    if kind is int or item is None or item is Ellipsis:
        return item
    if (
        kind is slice
        and type(item.step) is not int
        and builtins.all(type(v) is int or v is None for v in (item.start, item.stop, item.step))
    ):
        return item  # the common case: plain ints, and no step to check
    if isinstance(item, (bool, np.bool_)):
        return t.xp.asarray(bool(item))
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, slice):
        return _convert_slice(item, op)
    if _is_tensor(item) or isinstance(item, (list, tuple, range)) or hasattr(item, "__array__"):
        arr = _index_array(t, item, op)
        if arr.ndim == 0 and arr.dtype.kind != "b":
            return int(arr)  # a 0-d integer index selects, as a Python int does (PyTorch's rule)
        return arr
    raise TypeError(
        f"{op}: only integers, slices (`:`), ellipsis (`...`), None and long, int, byte or bool "
        f"tensors are valid indices (got {type(item).__name__})"
    )


def _convert_slice(item: slice, op: str) -> slice:
    start, stop, step = (None if v is None else operator.index(v) for v in (item.start, item.stop, item.step))
    if step is not None and step <= 0:
        if step == 0:
            raise ValueError(f"{op}: slice step cannot be zero")
        raise ValueError(f"{op}: step must be greater than zero (got {step}); use flip() to reverse")
    return slice(start, stop, step)


def _sequence_as_tuple(key: list) -> bool:
    """PyTorch's legacy rule: a short list holding sequences, tensors, slices, None or ``...``
    is a tuple of indices (``x[[[0, 1], [1, 2]]]`` is ``x[[0, 1], [1, 2]]``), not one index."""
    return len(key) < 32 and builtins.any(
        k is None or k is Ellipsis or _is_tensor(k) or isinstance(k, (list, tuple, range, slice, np.ndarray))
        for k in key
    )


def _dims_used(item) -> int:
    if item is None or item is Ellipsis:
        return 0
    if hasattr(item, "dtype") and item.dtype.kind == "b":
        return item.ndim
    return 1


def parse_key(t, key, op: str) -> tuple:
    """An index as the ``(basic, advanced)`` key of ``ember.ops.indexing`` (see ``index``).

    As in PyTorch, ints, slices, None and ``...`` are applied first (a view); index arrays and
    masks then index that view, each at the dim it now sits at (NumPy's rules from there).
    """
    if type(key) is list and _sequence_as_tuple(key):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated; use "
            "x[tuple(seq)] instead of x[seq] (PyTorch warns the same and reads it as a tuple)",
            UserWarning,
            stacklevel=3,
        )
        key = tuple(key)
    items = [_convert_item(t, k, op) for k in (key if isinstance(key, tuple) else (key,))]
    shape = t._data.shape
    used = builtins.sum(_dims_used(i) for i in items)
    if used > len(shape):
        if len(shape) == 0 and isinstance(items[0], int):
            raise IndexError(
                f"{op}: invalid index of a 0-dim tensor. Use `tensor.item()` in Python to convert a "
                "0-dim tensor to a number"
            )
        raise IndexError(f"{op}: too many indices for tensor of dimension {len(shape)} (shape {list(shape)})")
    if builtins.sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
    basic, arrays = [], []  # arrays: (dim of the basic view it indexes, array)
    dim = out_dim = 0
    for item in items:
        if item is None or isinstance(item, slice):
            basic.append(item)
            out_dim += 1
            dim += item is not None
        elif item is Ellipsis:
            basic.append(Ellipsis)
            dim += len(shape) - used
            out_dim += len(shape) - used
        elif isinstance(item, int):
            if not -shape[dim] <= item < shape[dim]:
                raise IndexError(
                    f"{op}: index {item} is out of bounds for dimension {dim} with size {shape[dim]}"
                )
            basic.append(item)
            dim += 1
        else:
            added = _add_array_item(t, item, dim, out_dim, basic, arrays, op)
            dim += item.ndim if item.dtype.kind == "b" else 1
            out_dim += added
    if not arrays:
        return tuple(basic), None
    advanced = [slice(None)] * (arrays[-1][0] + 1)
    for position, arr in arrays:
        advanced[position] = arr
    trivial = builtins.all(k is Ellipsis or k == slice(None) for k in basic)
    return (None if trivial else tuple(basic)), tuple(advanced)


def _add_array_item(t, item, dim: int, out_dim: int, basic: list, arrays: list, op: str) -> int:
    """Record an index array (or the arrays of a mask); returns how many dims of the view it takes."""
    shape = t._data.shape
    if item.dtype.kind != "b":
        check_bounds(t.xp, item, shape[dim], dim, op)
        basic.append(slice(None))
        arrays.append((out_dim, item))
        return 1
    if item.ndim == 0:  # x[True] adds a dim of size 1 and keeps it; x[False] keeps none of it
        basic.append(None)
        arrays.append((out_dim, t.xp.zeros(int(bool(item)), dtype=t.xp.int64)))
        return 1
    for j, n in enumerate(item.shape):
        if n != shape[dim + j]:
            raise IndexError(
                f"{op}: The shape of the mask {list(item.shape)} at index {j} does not match the "
                f"shape of the indexed tensor {list(shape)} at index {dim + j}"
            )
    for j, arr in enumerate(t.xp.nonzero(item)):
        basic.append(slice(None))
        arrays.append((out_dim + j, arr))
    return item.ndim
