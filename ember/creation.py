"""Tensor factories: ``tensor``, ``zeros``, ``arange``, ... (random ones in ``ember.random_ops``)."""

from __future__ import annotations

import builtins

import numpy as np

from ember import backend, dtypes
from ember.device import as_device
from ember.methods._util import size_args
from ember.tensor import Tensor, make

__all__ = [
    "tensor", "as_tensor", "from_numpy", "from_dlpack", "zeros", "ones", "full", "empty",
    "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace", "eye",
    "scalar_tensor",
]


def _finish(array, device, requires_grad: bool) -> Tensor:
    if device is not None:
        array = backend.to_device(array, device)
    t = make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_numpy(data, dtype):
    """Nested Python data (or arrays, or 0-d tensors inside lists) as a NumPy array, PyTorch's dtype."""
    if isinstance(data, Tensor):
        arr = backend.to_device(data._data, "cpu")
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, (list, tuple)) and _contains_tensor(data):
        arr = np.array(_tensors_to_lists(data))
    else:
        arr = np.array(data)
    if dtype is not None:
        return arr.astype(dtypes.as_dtype(dtype).np, copy=False)
    if arr.dtype.kind == "f" and not isinstance(data, (np.ndarray, Tensor)):
        return arr.astype(dtypes.get_default_dtype().np, copy=False)
    if arr.dtype.kind in "iu" and not isinstance(data, (np.ndarray, Tensor)):
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind in "OUS":
        raise TypeError(f"tensor: could not infer a numeric dtype from data of type {type(data).__name__}")
    if arr.dtype == np.uint64 or arr.dtype == np.uint32 or arr.dtype == np.uint16:
        arr = arr.astype(np.int64)
    return arr


def _contains_tensor(data) -> bool:
    return builtins.any(isinstance(x, Tensor) or (isinstance(x, (list, tuple)) and _contains_tensor(x)) for x in data)


def _tensors_to_lists(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    >>> tensor([1, 2]).dtype, tensor([1.0]).dtype
    (ember.int64, ember.float32)
    """
    arr = _infer_numpy(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return _finish(np.array(arr, copy=True) if arr.base is not None else arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory when ``data`` already is a matching array or tensor."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype).np == data.dtype):
        dtypes.from_numpy_dtype(data.dtype)
        return _finish(data, device, False)
    return _finish(_infer_numpy(data, dtype), device, False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory: writes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return make(array)


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any object that implements ``__dlpack__``."""
    if isinstance(ext, Tensor):
        return ext
    module = type(ext).__module__.split(".")[0]
    if module == "cupy":
        xp = backend.get("cuda").xp
        return make(xp.from_dlpack(ext))
    return make(np.from_dlpack(ext))


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or dtypes.get_default_dtype()).np
    return dtypes.as_dtype(dtype).np


def _xp(device):
    if device is None:
        return np
    return backend.get(as_device(device).type).xp


def _factory(fill, size, dtype, device, requires_grad):
    shape = size_args(size, "factory")
    if builtins.any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    dev = as_device(device) if device is not None else None
    xp = _xp(dev)
    if dev is not None and dev.type == "cuda":
        with xp.cuda.Device(dev.index or 0):
            arr = fill(xp, shape, _np_dtype(dtype))
    else:
        arr = fill(xp, shape, _np_dtype(dtype))
    t = make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    return _factory(lambda xp, s, d: xp.zeros(s, d), size, dtype, device, requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    return _factory(lambda xp, s, d: xp.ones(s, d), size, dtype, device, requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None) -> Tensor:
    return _factory(lambda xp, s, d: xp.empty(s, d), size, dtype, device, requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = dtypes.result_type(fill_value)
    return _factory(lambda xp, s, d: xp.full(s, fill_value, d), (size,) if isinstance(size, int) else size,
                    dtype, device, requires_grad)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full((), value, dtype=dtype or dtypes.get_default_dtype(), device=device, requires_grad=requires_grad)


def _like(fn, t, dtype, device, requires_grad, *extra):
    return fn(t.shape, *extra, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(empty, input, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Values from ``start`` up to (not including) ``end``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign (start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = dtypes.result_type(start, end, step)
    xp = _xp(device)
    count = builtins.max(0, int(np.ceil((end - start) / step)))
    arr = (xp.arange(count, dtype=np.float64) * step + start).astype(_np_dtype(dtype))
    if dtypes.as_dtype(dtype).category < 2:
        arr = xp.arange(start, start + count * step, step, dtype=_np_dtype(dtype))[:count]
    return _finish(arr, device if device is not None and as_device(device).type != "cpu" else None, requires_grad)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    xp = _xp(device)
    arr = xp.linspace(float(start), float(end), int(steps), dtype=np.float64).astype(_np_dtype(dtype))
    return _finish(arr, None, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    xp = _xp(device)
    arr = xp.logspace(float(start), float(end), int(steps), base=base, dtype=np.float64).astype(_np_dtype(dtype))
    return _finish(arr, None, requires_grad)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    xp = _xp(device)
    return _finish(xp.eye(n, m if m is not None else n, dtype=_np_dtype(dtype)), None, requires_grad)
