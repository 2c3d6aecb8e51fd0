"""Small helpers shared by the method mixins."""

from __future__ import annotations

import builtins
from collections import namedtuple

from ember.dtypes import is_floating_np


def normalize_dims(dim, ndim: int, op: str) -> tuple:
    """``dim`` (None, an int or a sequence) as a sorted tuple of non-negative axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        dims = tuple(wrap_dim(d, ndim, op) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}: dim {list(dim)} appears multiple times in the list of dims")
        return tuple(sorted(dims)) if dims else tuple(range(ndim))
    return (wrap_dim(dim, ndim, op),)


def wrap_dim(dim, ndim: int, op: str) -> int:
    """A possibly negative dim as an axis in ``[0, ndim)``, with PyTorch's error otherwise."""
    bound = builtins.max(ndim, 1)
    if not isinstance(dim, int):
        dim = int(dim)
    if not -bound <= dim < bound:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], "
            f"but got {dim})"
        )
    return dim % bound


def size_args(args, op: str) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` (and ``ember.Size``) alike."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    try:
        return tuple(int(a) for a in args)
    except TypeError as exc:
        raise TypeError(f"{op}: sizes must be ints, got {args!r}") from exc


def dtype_category(np_dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats: an in-place result may not rise in category."""
    if is_floating_np(np_dtype):  # ml_dtypes' bfloat16 included (NumPy kind 'V')
        return 2
    return {"b": 0, "u": 1, "i": 1, "f": 2}.get(np_dtype.kind, 3)


_RETURN_TYPES: dict[str, type] = {}


def return_type(name: str, fields: list[str]) -> type:
    """The named tuple an op returns (``max(dim)``'s values and indices), printed as PyTorch
    prints its ``return_types``: one field a line. Pickles by name."""
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self))
        return f"ember.return_types.{name}(\n{body})"

    def __reduce__(self):
        return _rebuild_return_type, (name, tuple(self))

    cls = type(
        name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__, "__reduce__": __reduce__}
    )
    _RETURN_TYPES[name] = cls
    return cls


def _rebuild_return_type(name: str, values: tuple):
    return _RETURN_TYPES[name](*values)


def mixed_dtypes_message(op: str, *tensors) -> str:
    found = ", ".join(f"{t.dtype} {list(t.shape)}" for t in tensors)
    return (
        f"{op}: expected operands of the same dtype, got {found}; convert one with "
        f".to(other.dtype) (ember, like PyTorch, does not promote matrix products)"
    )
