"""Joining tensors: cat, stack and their variants, broadcasting helpers, meshgrid."""

from __future__ import annotations

import builtins
import numbers
from typing import TYPE_CHECKING

from ember import dtypes
from ember.methods._util import wrap_dim
from ember.ops import movement
from ember.tensor_core import Size, TensorBase

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS: list = []
__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_shapes",
    "broadcast_tensors",
    "cat",
    "column_stack",
    "concat",
    "concatenate",
    "dstack",
    "hstack",
    "meshgrid",
    "row_stack",
    "stack",
    "vstack",
]


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, TensorBase):
        raise TypeError(f"{op}(): argument 'tensors' must be a sequence of Tensors, not a single Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorBase):
            raise TypeError(f"{op}(): expected a list of Tensors, but element {i} is a {type(t).__name__}")
    return tensors


def _promote_all(tensors: list) -> list:
    first = tensors[0]._data.dtype
    if all(t._data.dtype == first for t in tensors):
        return tensors
    target = tensors[0].dtype
    for t in tensors[1:]:
        target = dtypes.promote_types(target, t.dtype)
    return [t._cast(target.np) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing ``dim`` (sizes must match elsewhere); dtypes are promoted."""
    tensors = _tensor_list(tensors, "cat")
    kept = []
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if not shape:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
        if shape != (0,):  # legacy: 1-d empties are skipped
            kept.append(t)
    kept = kept or tensors[:1]
    ref = kept[0]._data.shape
    d = wrap_dim(dim, len(ref), "cat")
    head, tail = ref[:d], ref[d + 1 :]
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if shape == (0,) and t is not kept[0]:
            continue
        if len(shape) != len(ref) or shape[:d] != head or shape[d + 1 :] != tail:
            raise RuntimeError(
                f"cat: Sizes of tensors must match except in dimension {d}. Expected a shape like "
                f"{list(ref)} but got {list(shape)} for tensor number {i} in the list "
                f"(shapes {[list(x.shape) for x in tensors]})"
            )
    return movement.Cat.apply(*_promote_all(kept), dim=d)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new ``dim``; dtypes are promoted."""
    tensors = _tensor_list(tensors, "stack")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    d = wrap_dim(dim, len(ref) + 1, "stack")
    return movement.Stack.apply(*_promote_all(tensors), dim=d)


def atleast_1d(*tensors) -> Tensor | tuple:
    """Each tensor with at least 1 dim (0-d becomes shape [1]); a tuple for several tensors."""
    return _each(tensors, lambda t: t.reshape(1) if t._data.ndim == 0 else t)


def atleast_2d(*tensors) -> Tensor | tuple:
    """Each tensor with at least 2 dims (new dims lead)."""
    return _each(
        tensors, lambda t: t.reshape((1,) * (2 - t._data.ndim) + t._data.shape) if t._data.ndim < 2 else t
    )


def atleast_3d(*tensors) -> Tensor | tuple:
    """Each tensor with at least 3 dims: [n] becomes [1, n, 1] and [m, n] becomes [m, n, 1]."""

    def lift(t):
        shape = t._data.shape
        return {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}.get(len(shape), shape)

    return _each(tensors, lambda t: t.reshape(lift(t)) if t._data.ndim < 3 else t)


def _each(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        return tuple(fn(t) for t in tensors[0])
    out = tuple(fn(t) for t in tensors)
    return out[0] if len(out) == 1 else out


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-d tensors)."""
    tensors = atleast_1d(tuple(_tensor_list(tensors, "hstack")))
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, lifting 0-d and 1-d tensors to rows."""
    return cat(atleast_2d(tuple(_tensor_list(tensors, "vstack"))), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along dim 2, lifting tensors to 3 dims first."""
    return cat(atleast_3d(tuple(_tensor_list(tensors, "dstack"))), 2)


def column_stack(tensors) -> Tensor:
    """Join along dim 1, making 0-d and 1-d tensors into columns."""
    tensors = _tensor_list(tensors, "column_stack")
    return hstack([t.reshape(-1, 1) if t._data.ndim < 2 else t for t in tensors])


def broadcast_shapes(*shapes) -> Size:
    """The shape that all ``shapes`` broadcast to (PyTorch's rules)."""
    shapes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    out = [1] * builtins.max((len(s) for s in shapes), default=0)
    for s in shapes:
        for i, n in enumerate(s, len(out) - len(s)):
            if n != out[i] and n != 1 and out[i] != 1:
                raise RuntimeError(
                    f"broadcast_shapes: shape mismatch: objects cannot be broadcast to a single shape: "
                    f"{[list(x) for x in shapes]} disagree at dim {i} ({out[i]} vs {n})"
                )
            out[i] = n if out[i] == 1 else out[i]
    return Size(out)


def broadcast_tensors(*tensors) -> tuple:
    """Views of the tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids (views) from 1-d tensors: ``indexing='ij'`` (matrix) or ``'xy'`` (Cartesian)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    tensors = _tensor_list(tensors, "meshgrid")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: {indexing!r}")
    for i, t in enumerate(tensors):
        if t._data.ndim > 1:
            raise RuntimeError(
                f"meshgrid: expected 0-d or 1-d tensors, but tensor {i} has shape {list(t.shape)}"
            )
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(
                f"meshgrid expects all tensors to have the same dtype, got {tensors[0].dtype} and {t.dtype}"
            )
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for p, t in zip(pos, tensors):
        shape[p] = t._data.size
    outs = []
    for p, t in zip(pos, tensors):
        lifted = t.reshape(tuple(-1 if d == p else 1 for d in range(len(tensors))))
        outs.append(lifted.expand(tuple(shape)))
    return tuple(outs)
