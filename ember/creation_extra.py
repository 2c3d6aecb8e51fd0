"""Less common factories: ``empty_strided``, ``frombuffer``, ``from_file`` and the deprecated
``range`` (whose end is inclusive)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ember import dtypes
from ember.creation import empty, tensor
from ember.methods._out import with_out
from ember.tensor import Tensor, make

__all__ = ["empty_strided", "frombuffer", "from_file", "range", "to_dlpack"]


def empty_strided(
    size,
    stride,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor with the given sizes and strides (a view of a fresh buffer)."""
    size, stride = tuple(size), tuple(stride)
    needed = 1 + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else 0
    base = empty(max(needed, 1), dtype=dtype, device=device)
    out = base.as_strided(size, stride).detach() if size else base[:1].reshape(())
    return out.requires_grad_(True) if requires_grad else out


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-D tensor sharing memory with an object that exposes the buffer protocol."""
    array = np.frombuffer(buffer, dtype=dtypes.as_dtype(dtype).np, count=count, offset=offset)
    if not array.flags.writeable:
        warnings.warn(
            "The given buffer is not writable: in-place writes to the tensor will fail",
            UserWarning,
            stacklevel=2,
        )
    out = make(array)
    return out.requires_grad_(True) if requires_grad else out


def from_file(
    filename, shared=None, size: int = 0, *, dtype=None, layout=None, device=None, pin_memory: bool = False
) -> Tensor:
    """``size`` elements of ``dtype`` read from a binary file (memory-mapped when ``shared``)."""
    np_dtype = (dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()).np
    if shared:
        array = np.memmap(filename, dtype=np_dtype, mode="r+", shape=(size,))
    else:
        array = np.fromfile(filename, dtype=np_dtype, count=size)
    if array.size < size:
        raise RuntimeError(
            f"from_file: {filename} holds {array.size} elements of {dtype}, fewer than size={size}"
        )
    out = make(np.asarray(array))
    return out.to(device) if device is not None else out


def range(
    start=0,
    end=None,
    step=1,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,  # noqa: A001
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Deprecated: values from ``start`` to ``end`` inclusive (``arange`` excludes the end)."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if end is None:
        start, end = 0, start
    count = int(math.floor((end - start) / step)) + 1
    values = start + step * np.arange(max(count, 0), dtype=np.float64)
    dtype = dtype if dtype is not None else dtypes.get_default_dtype()
    result = tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)
    if out is not None:
        return out.resize_(result.shape).copy_(result)
    return result


def to_dlpack(tensor: Tensor):
    """A DLPack capsule sharing ``tensor``'s memory (``from_dlpack`` reads it back)."""
    return tensor.__dlpack__()


def _with_out():
    for name in ("empty_strided", "from_file"):
        globals()[name] = with_out(globals()[name], factory=True)


_with_out()
