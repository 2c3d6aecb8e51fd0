"""dtype objects and PyTorch's type-promotion rules.

Each ember dtype wraps one NumPy dtype. ``bfloat16`` comes from the optional
``ml_dtypes`` package and is resolved the first time it is used.
"""

from __future__ import annotations

import builtins as _builtins

import numpy as np

_py_float, _py_int, _py_bool = _builtins.float, _builtins.int, _builtins.bool

__all__ = [
    "bfloat16",
    "bool",
    "cdouble",
    "cfloat",
    "complex128",
    "complex64",
    "double",
    "dtype",
    "finfo",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy_dtype",
    "get_default_dtype",
    "half",
    "iinfo",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_floating_point",
    "long",
    "promote_types",
    "result_type",
    "set_default_dtype",
    "short",
    "to_numpy_dtype",
    "uint8",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type; ``ember.float32`` and friends are its instances."""

    __slots__ = ("_np", "category", "is_signed", "itemsize", "name")

    def __init__(self, name: str, np_dtype, category: int, itemsize: int, is_signed: bool):
        self.name = name
        self._np = np.dtype(np_dtype) if np_dtype is not None else None
        self.category = category
        self.itemsize = itemsize
        self.is_signed = is_signed

    @property
    def np(self) -> np.dtype:
        if self._np is None:
            self._np = _load_bfloat16()
        return self._np

    @property
    def is_floating_point(self) -> bool:
        return self.category == _FLOAT

    @property
    def is_complex(self) -> bool:
        return self.category == _COMPLEX

    def to_real(self) -> dtype:
        """The real dtype of a complex one (complex64 -> float32); real dtypes give themselves."""
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self) -> dtype:
        """The complex dtype of a floating one (float64 -> complex128); complex give themselves."""
        return complex128 if self in (float64, complex128) else complex64

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


def _load_bfloat16() -> np.dtype:
    try:
        import ml_dtypes
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TypeError("ember.bfloat16 needs the optional package ml_dtypes: pip install ml_dtypes") from exc
    dt = np.dtype(ml_dtypes.bfloat16)
    _FROM_NP[dt] = bfloat16
    return dt


float16 = dtype("float16", np.float16, _FLOAT, 2, True)
bfloat16 = dtype("bfloat16", None, _FLOAT, 2, True)
float32 = dtype("float32", np.float32, _FLOAT, 4, True)
float64 = dtype("float64", np.float64, _FLOAT, 8, True)
int8 = dtype("int8", np.int8, _INT, 1, True)
int16 = dtype("int16", np.int16, _INT, 2, True)
int32 = dtype("int32", np.int32, _INT, 4, True)
int64 = dtype("int64", np.int64, _INT, 8, True)
uint8 = dtype("uint8", np.uint8, _INT, 1, False)
bool = dtype("bool", np.bool_, _BOOL, 1, False)
complex64 = dtype("complex64", np.complex64, _COMPLEX, 8, True)
complex128 = dtype("complex128", np.complex128, _COMPLEX, 16, True)
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

ALL = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool, complex64, complex128)
_BY_NAME = {d.name: d for d in ALL}
_FROM_NP = {d._np: d for d in ALL if d._np is not None}
_default_float = float32


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def np_is_floating(np_dtype) -> bool:
    """Whether an array dtype is a real floating one: NumPy's kind ``'f'``, or ml_dtypes'
    bfloat16, whose kind is ``'V'``."""
    kind = np_dtype.kind
    return kind == "f" or (kind == "V" and np_dtype.name == "bfloat16")


def np_is_inexact(np_dtype) -> bool:
    """Whether an array dtype is floating or complex (the dtypes that can require grad)."""
    kind = np_dtype.kind
    return kind in "fc" or (kind == "V" and np_dtype.name == "bfloat16")


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; float64 arrays stay float64 (as ``torch.from_numpy``)."""
    found = _FROM_NP.get(np_dtype)
    if found is not None:
        return found
    np_dtype = np.dtype(np_dtype)
    found = _FROM_NP.get(np_dtype)
    if found is None and np_dtype.name == "bfloat16":
        bfloat16.np  # noqa: B018 - registers the ml_dtypes type
        found = bfloat16
    if found is None:
        raise TypeError(
            f"can't convert NumPy array of dtype {np_dtype}: the supported types are "
            "float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool, "
            "complex64 and complex128"
        )
    return found


def to_numpy_dtype(d) -> np.dtype:
    """Accept an ember dtype, a NumPy dtype or a name and give the NumPy dtype."""
    if isinstance(d, dtype):
        return d.np
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d].np
    return from_numpy_dtype(d).np


def as_dtype(d) -> dtype:
    """Normalise an ember dtype, NumPy dtype, Python type or name into an ember dtype."""
    if isinstance(d, dtype):
        return d
    if d is _py_float:
        return _default_float
    if d is _py_int:
        return int64
    if d is _py_bool:
        return bool
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    return from_numpy_dtype(d)


def get_default_dtype() -> dtype:
    """The floating dtype that Python floats and float factories produce (float32 at start)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default floating dtype; only float16, bfloat16, float32 and float64 are allowed."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating-point types are allowed, got {d}")
    _default_float = d


def is_floating_point(d: dtype) -> bool:
    return d.category == _FLOAT


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """PyTorch's promotion of two dtypes (``torch.promote_types``)."""
    a, b = type1, type2
    if a is b:
        return a
    if _COMPLEX in (a.category, b.category) and _FLOAT in (a.category, b.category):
        real = promote_types(a.to_real(), b.to_real())  # float64 + complex64 -> complex128
        return complex128 if real is float64 else complex64
    if a.category != b.category:
        return a if a.category > b.category else b
    if bfloat16 in (a, b):
        other = b if a is bfloat16 else a
        return float32 if other is float16 else (bfloat16 if other is bfloat16 else other)
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def result_type(*operands) -> dtype:
    """The dtype PyTorch gives an op over tensors and Python scalars.

    Dimensioned tensors decide first; zero-dim tensors only matter when their
    category (bool < integer < float) is higher; Python scalars only lift the
    category, to int64 or to the default float dtype.
    """
    dims = zero = None
    scalar_category = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dims = d if dims is None else promote_types(dims, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        elif isinstance(x, _py_bool):
            scalar_category = max(scalar_category, _BOOL)
        elif isinstance(x, _py_int):
            scalar_category = max(scalar_category, _INT)
        elif isinstance(x, _py_float):
            scalar_category = max(scalar_category, _FLOAT)
        elif isinstance(x, complex):
            scalar_category = max(scalar_category, _COMPLEX)
        elif isinstance(x, np.generic):
            zero_d = from_numpy_dtype(x.dtype)
            zero = zero_d if zero is None else promote_types(zero, zero_d)
    result = dims
    if zero is not None and (result is None or zero.category > result.category):
        result = zero
    if scalar_category >= 0 and (result is None or scalar_category > result.category):
        if scalar_category == _COMPLEX and result is not None and result.category == _FLOAT:
            result = result.to_complex()  # float64 tensor * 1j -> complex128
        else:
            result = (bool, int64, _default_float, _default_float.to_complex())[scalar_category]
    if result is None:
        raise TypeError("result_type: no tensor or number among the operands")
    return result


class finfo:
    """Machine limits of a floating dtype (``torch.finfo``)."""

    def __init__(self, d=None):
        d = as_dtype(d).to_real() if d is not None else _default_float  # complex: its parts
        if not d.is_floating_point:
            raise TypeError(f"finfo: expected a floating point dtype, got {d}; use iinfo for integers")
        if d is bfloat16:
            import ml_dtypes

            info = ml_dtypes.finfo(d.np)
        else:
            info = np.finfo(d.np)
        self.dtype, self.bits = d, info.bits
        self.eps, self.max, self.min = _py_float(info.eps), _py_float(info.max), _py_float(info.min)
        self.tiny = self.smallest_normal = _py_float(info.smallest_normal)
        self.precision = _py_int(info.precision)
        self.resolution = 10.0**-self.precision  # as PyTorch: a round power of ten

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, dtype={self.dtype.name})"
        )


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``)."""

    def __init__(self, d):
        d = as_dtype(d)
        if d.category != _INT:
            raise TypeError(f"iinfo: expected an integer dtype, got {d}; use finfo for floating point")
        info = np.iinfo(d.np)
        self.dtype, self.bits, self.max, self.min = d, info.bits, _py_int(info.max), _py_int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype.name})"
