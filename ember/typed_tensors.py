"""PyTorch's legacy typed tensor classes: ``ember.FloatTensor``, ``ember.cuda.LongTensor``, ...

Each is a constructor (``FloatTensor([1, 2])`` from data, ``FloatTensor(2, 3)`` uninitialised,
``FloatTensor()`` empty) and a type to test against: ``isinstance(x, ember.FloatTensor)`` is
True exactly for float32 CPU tensors, as in PyTorch. ``Tensor.type()`` names them the way
PyTorch does (``'torch.FloatTensor'``) and ``Tensor.type(...)`` converts to one.
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

from ember import dtypes, settings
from ember.creation import empty, tensor
from ember.tensor_core import Size, TensorBase

if TYPE_CHECKING:
    from ember.tensor import Tensor

_NAMES = {
    "FloatTensor": dtypes.float32,
    "DoubleTensor": dtypes.float64,
    "HalfTensor": dtypes.float16,
    "BFloat16Tensor": dtypes.bfloat16,
    "LongTensor": dtypes.int64,
    "IntTensor": dtypes.int32,
    "ShortTensor": dtypes.int16,
    "CharTensor": dtypes.int8,
    "ByteTensor": dtypes.uint8,
    "BoolTensor": dtypes.bool,
}
__all__ = list(_NAMES)


def require_cuda(op: str) -> None:
    """Raise the honest no-GPU error unless a CUDA device is usable."""
    from ember import cuda  # ember.cuda imports this module (its typed classes)

    if not cuda.is_available():
        raise RuntimeError(
            f"{op}: CUDA is not available: ember's CUDA backend needs CuPy and an NVIDIA GPU "
            "(pip install cupy-cuda12x); use the CPU type instead"
        )


class _TypedTensorType(type):
    """The metaclass: calling a typed class builds a Tensor; isinstance checks dtype and device."""

    def __instancecheck__(cls, obj) -> bool:
        return (
            isinstance(obj, TensorBase)
            and obj._data.dtype == cls.dtype.np
            and obj.device.type == cls.device_type
        )

    def __call__(cls, *args, device=None):
        if cls.is_cuda:
            require_cuda(cls.__qualname__)
        target = device or cls.device_type
        if len(args) == 1 and isinstance(args[0], TensorBase):
            return _from_tensor(cls, args[0])
        if not args:
            args = (0,)
        if isinstance(args[0], Size) or all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args
        ):
            return empty(*args, dtype=cls.dtype, device=target)
        if len(args) != 1:
            raise TypeError(f"{cls.__qualname__}(): expected data or sizes, got {args!r}")
        return tensor(args[0], dtype=cls.dtype, device=target)

    def __repr__(cls) -> str:
        return f"<class '{cls.__qualname__}'>"


def _from_tensor(cls, t: Tensor) -> Tensor:
    if t._data.dtype != cls.dtype.np:
        raise TypeError(f"expected {cls.dtype} (got {t.dtype})")
    return t


def _make(name: str, dtype, device_type: str):
    qualname = f"torch.cuda.{name}" if device_type == "cuda" else f"torch.{name}"
    return _TypedTensorType(
        name,
        (),
        {
            "__qualname__": qualname,
            "__module__": "ember" if device_type == "cpu" else "ember.cuda",
            "__doc__": f"{dtype} tensors on the {device_type.upper()}; see ``ember.typed_tensors``.",
            "dtype": dtype,
            "device_type": device_type,
            "is_cuda": device_type == "cuda",
        },
    )


CPU_TYPES = {name: _make(name, d, "cpu") for name, d in _NAMES.items()}
CUDA_TYPES = {name: _make(name, d, "cuda") for name, d in _NAMES.items()}
globals().update(CPU_TYPES)


def type_name(t: Tensor) -> str:
    """PyTorch's name of ``t``'s type: ``'torch.FloatTensor'``, ``'torch.cuda.LongTensor'``."""
    for name, d in _NAMES.items():
        if d.np == t._data.dtype:
            return f"torch.cuda.{name}" if t.device.type == "cuda" else f"torch.{name}"
    return f"torch.{t.dtype.name}"


def parse_type(spec):
    """``(dtype, device type or None)`` of a typed class, its name, or a dtype."""
    if isinstance(spec, _TypedTensorType):
        return spec.dtype, spec.device_type
    if isinstance(spec, str):
        parts = spec.split(".")
        name, cuda = parts[-1], "cuda" in parts[:-1]
        if parts[0] in ("torch", "ember") and name in _NAMES:
            return _NAMES[name], "cuda" if cuda else "cpu"
        return dtypes.as_dtype(name), None
    return dtypes.as_dtype(spec), None


def set_default_tensor_type(t) -> None:
    """Set the default float dtype (and CUDA as default device for ``cuda`` types); deprecated."""
    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    dtype, device_type = parse_type(t)
    if not dtype.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {t}")
    if device_type == "cuda":
        require_cuda("set_default_tensor_type")
    dtypes.set_default_dtype(dtype)
    if device_type is not None:
        settings.set_default_device(device_type)
