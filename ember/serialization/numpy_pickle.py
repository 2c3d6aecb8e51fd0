"""NumPy arrays, scalars and dtypes inside PyTorch pickles, rebuilt as plain data.

``torch.save({"a": np.arange(3), "best": np.float64(0.9)})`` pickles arrays as
``numpy.core.multiarray._reconstruct`` + ``BUILD`` (shape, dtype, raw bytes) and scalars as
``numpy.core.multiarray.scalar(dtype, bytes)``. These helpers rebuild them for the restricted
reader after checking every field: only numeric and bool dtypes by their short code, little
endian, and raw data of exactly ``prod(shape) * itemsize`` bytes. No NumPy code runs on
anything but those checked values. Invalid input raises ``ValueError``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

__all__ = ["NAMES", "reconstruct", "scalar", "set_array_state", "set_dtype_state"]

_CODES = frozenset(("b1", "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"))


def dtype(vm: Any, spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype(code, align, copy)`` for a plain numeric code only."""
    if not isinstance(spec, str) or spec not in _CODES:
        raise ValueError(f"numpy.dtype({spec!r:.40}) is not a plain numeric dtype")
    return np.dtype(spec)


def set_dtype_state(target: np.dtype, state: Any) -> None:
    """The BUILD after ``numpy.dtype``: only a little-endian or byte-order-free layout."""
    native = "<" if sys.byteorder == "little" else ">"
    if not isinstance(state, tuple) or len(state) < 2 or state[1] not in (native, "|", "="):
        raise ValueError(f"numpy dtype state {state!r:.80} is not a native-endian plain dtype")


def reconstruct(vm: Any, marker: Any, shape: Any, typecode: Any) -> np.ndarray:
    """``_reconstruct(ndarray, (0,), b'b')``: an empty array that BUILD fills."""
    if getattr(marker, "qualname", None) != "numpy.ndarray" or shape != (0,):
        raise ValueError("numpy _reconstruct may only make an empty numpy.ndarray")
    return np.ndarray((0,), np.uint8)


def set_array_state(target: np.ndarray, state: Any) -> None:
    """The BUILD of an array: ``(1, shape, dtype, is_fortran, raw_bytes)``, all checked."""
    if not isinstance(state, tuple) or len(state) != 5:
        raise ValueError("a numpy array's state is (version, shape, dtype, is_fortran, data)")
    version, shape, dt, fortran, raw = state
    if version != 1 or not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"invalid numpy array shape {shape!r:.80}")
    if not isinstance(dt, np.dtype) or dt.kind not in "biufc" or type(fortran) is not bool:
        raise ValueError(f"invalid numpy array dtype {dt!r:.40}")
    if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dt.itemsize:
        raise ValueError(
            f"numpy array data of {len(raw) if isinstance(raw, bytes) else '?'} bytes "
            f"does not fit shape {shape} of {dt}"
        )
    target.__setstate__((1, shape, dt, fortran, raw))


def scalar(vm: Any, dt: Any, raw: Any) -> Any:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: one checked value."""
    if not isinstance(dt, np.dtype) or dt.kind not in "biufc":
        raise ValueError(f"invalid numpy scalar dtype {dt!r:.40}")
    if not isinstance(raw, bytes) or len(raw) != dt.itemsize:
        raise ValueError(f"numpy scalar data must be {dt.itemsize} bytes")
    return np.frombuffer(raw, dt)[0]


#: the pickle names of these helpers (NumPy 1 spells the module ``numpy.core``, NumPy 2 ``numpy._core``)
NAMES = {
    "numpy.dtype": dtype,
    "numpy.core.multiarray._reconstruct": reconstruct,
    "numpy._core.multiarray._reconstruct": reconstruct,
    "numpy.core.multiarray.scalar": scalar,
    "numpy._core.multiarray.scalar": scalar,
}
