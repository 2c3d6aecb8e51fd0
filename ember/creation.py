"""Tensor factories: ``tensor``, ``zeros``, ``arange``, ... (random ones in ``ember.random_ops``)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from ember import backend, dtypes, settings
from ember.backend.errors import check_cuda_dtype
from ember.device import as_device
from ember.methods._out import with_out
from ember.methods._util import size_args
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

__all__ = [
    "arange",
    "as_tensor",
    "asarray",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "logspace",
    "ones",
    "ones_like",
    "scalar_tensor",
    "tensor",
    "zeros",
    "zeros_like",
]


def _infer_numpy(data, dtype, op: str = "tensor") -> np.ndarray:
    """Nested Python data, arrays or tensors as one NumPy array of PyTorch's dtype for that data."""
    if isinstance(data, range):
        data = list(data)
    if isinstance(data, TensorBase):
        arr = _host(data)
        return arr if dtype is None else arr.astype(dtypes.as_dtype(dtype).np, copy=False)
    if isinstance(data, np.ndarray):
        target = _array_dtype(data.dtype, op) if dtype is None else dtypes.as_dtype(dtype)
        return data.astype(target.np, copy=False)
    target = _leaf_dtype(data, op) if dtype is None else dtypes.as_dtype(dtype)
    if isinstance(data, (list, tuple)) and _contains_tensor(data):
        data = _tensors_to_arrays(data)
    try:
        return np.array(data, dtype=target.np)
    except ValueError as exc:
        raise ValueError(
            f"{op}: nested sequences must have equal lengths at every depth to make a "
            f"rectangular tensor ({exc})"
        ) from exc


def _array_dtype(np_dtype, op: str) -> dtypes.dtype:
    if np_dtype.kind == "c" and np_dtype.itemsize > 16:
        raise TypeError(f"{op}: complex data of dtype {np_dtype} is not supported; use complex128")
    if np_dtype.kind == "u" and np_dtype.itemsize > 1:
        return dtypes.int64  # uint16/32/64 have no ember dtype; int64 holds their usual values
    if np_dtype.kind in "OUSVMm":
        raise TypeError(
            f"{op}: can't make a tensor from an array of dtype {np_dtype}; expected numbers or bools"
        )
    return dtypes.from_numpy_dtype(np_dtype)


_PY_SCALARS = {float: "float", int: "int", bool: "bool"}


def _leaf_dtype(data, op: str) -> dtypes.dtype:
    """PyTorch's inference: promote the dtypes of all leaves (Python float is the default dtype)."""
    found = None
    stack = [data]
    while stack:
        seq = stack.pop()
        if not isinstance(seq, (list, tuple)):
            seq = (seq,)
        for kind in set(map(type, seq)):
            if kind in (list, tuple):
                stack.extend(x for x in seq if type(x) is kind)
                continue
            for d in _kind_dtypes(kind, seq, op):
                found = d if found is None else dtypes.promote_types(found, d)
    return dtypes.get_default_dtype() if found is None else found


def _kind_dtypes(kind, seq, op: str):
    if kind is float:
        return (dtypes.get_default_dtype(),)
    if kind is int:
        return (dtypes.int64,)
    if kind is bool or kind is np.bool_:
        return (dtypes.bool,)
    if kind is complex:
        return (dtypes.get_default_dtype().to_complex(),)
    if issubclass(kind, (np.generic, np.ndarray)):
        return tuple({_array_dtype(np.dtype(x.dtype), op) for x in seq if type(x) is kind})
    if issubclass(kind, TensorBase):
        return tuple({x.dtype for x in seq if type(x) is kind})
    if issubclass(kind, (list, tuple)):
        raise TypeError(f"{op}: nested sequences of type {kind.__name__} are not supported; use lists")
    raise TypeError(
        f"{op}: could not infer a dtype from an element of type {kind.__name__}; expected numbers, "
        "bools, NumPy arrays or tensors (nested in lists)"
    )


def _host(t: Tensor) -> np.ndarray:
    return t._data if t.is_cpu else backend.to_device(t._data, "cpu")


def _contains_tensor(data) -> bool:
    return builtins.any(
        isinstance(x, TensorBase) or (isinstance(x, (list, tuple)) and _contains_tensor(x)) for x in data
    )


def _tensors_to_arrays(data):
    if isinstance(data, TensorBase):
        return _host(data)
    if isinstance(data, (list, tuple)):
        return [_tensors_to_arrays(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    >>> tensor([1, 2]).dtype, tensor([1.0]).dtype, tensor(True).dtype
    (ember.int64, ember.float32, ember.bool)
    """
    arr = _infer_numpy(data, dtype)
    if isinstance(data, TensorBase) and arr is data._data or arr is data or arr.base is not None:
        arr = arr.copy()
    return _finish(arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory when ``data`` already is an array or tensor of that dtype.

    >>> import numpy as np
    >>> a = np.zeros(2)
    >>> as_tensor(a).numpy() is a
    True
    """
    if isinstance(data, TensorBase):
        return data.to(device=device, dtype=dtype)
    same_dtype = isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype).np == data.dtype)
    if same_dtype and _array_dtype(data.dtype, "as_tensor").np == data.dtype:
        return _finish(data, device, False)
    return _finish(_infer_numpy(data, dtype, "as_tensor"), device, False)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor, sharing memory when possible (``copy=True`` always copies)."""
    if copy:
        result = tensor(obj, dtype=dtype, device=device)
    else:
        result = as_tensor(obj, dtype=dtype, device=device)
        if (
            copy is False
            and isinstance(obj, (np.ndarray, TensorBase))
            and result._data is not (obj._data if isinstance(obj, TensorBase) else obj)
        ):
            raise ValueError("asarray: copy=False, but the conversion needs a copy")
    return result.requires_grad_(True) if requires_grad else result


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory: writes to one show in the other.

    >>> import numpy as np
    >>> a = np.zeros(2)
    >>> t = from_numpy(a); t.add_(1); a.tolist()
    tensor([1., 1.], dtype=ember.float64)
    [1.0, 1.0]
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.from_numpy_dtype(ndarray.dtype)
    return make(ndarray)


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor sharing memory with any object that implements ``__dlpack__`` (NumPy, PyTorch, CuPy)."""
    shared = _from_dlpack(ext_tensor)
    if device is not None or copy:
        return shared.to(device, copy=bool(copy)) if device is not None else shared.clone()
    return shared


def _from_dlpack(ext) -> Tensor:
    if isinstance(ext, TensorBase):
        return make(ext._data)
    if not hasattr(ext, "__dlpack__"):
        raise TypeError(
            f"from_dlpack: expected an object with __dlpack__ (a NumPy array, a torch or CuPy tensor), "
            f"got {type(ext).__name__}"
        )
    kind, _ = ext.__dlpack_device__()
    array = backend.get("cpu" if kind == 1 else "cuda").from_dlpack(ext)  # 1: kDLCPU
    dtypes.from_numpy_dtype(array.dtype)
    return make(array)


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or dtypes.get_default_dtype()).np
    return dtypes.as_dtype(dtype).np


def _xp(device):
    if device is None:
        return np
    return backend.get(as_device(device).type).xp


def _factory(op, fill, size, dtype, device, requires_grad):
    shape = size_args(size, op)
    if builtins.any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: Dimension size must be non-negative, got size {list(shape)}")
    if device is None:
        device = settings.default_device_or_none()
    dev = as_device(device) if device is not None else None
    if dev is not None and dev.type == "cuda":  # allocate on the device, not on the host
        xp, cuda = _xp(dev), backend.get("cuda")
        check_cuda_dtype(np.dtype(_np_dtype(dtype)))
        try:
            with cuda.device_guard(dev.index):
                return _finish(fill(xp, shape, _np_dtype(dtype)), None, requires_grad)
        except MemoryError as exc:
            raise cuda.out_of_memory(exc, op, f"size {list(shape)}, dtype {_np_dtype(dtype)}") or exc from exc
    return _finish(fill(np, shape, _np_dtype(dtype)), None, requires_grad)


def _finish(array, device, requires_grad: bool) -> Tensor:
    """Wrap a host array, moved to ``device`` (a CPU device or None keeps it in place)."""
    if device is None:
        device = settings.default_device_or_none()
    if device is not None and as_device(device).type != "cpu":
        array = backend.to_device(array, device)
    t = make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(
    *size,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A tensor of zeros; ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same."""
    return _factory("zeros", lambda xp, s, d: xp.zeros(s, d), size, dtype, device, requires_grad)


def ones(
    *size,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A tensor of ones."""
    return _factory("ones", lambda xp, s, d: xp.ones(s, d), size, dtype, device, requires_grad)


def empty(
    *size,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    memory_format=None,
) -> Tensor:
    """An uninitialised tensor (its values are whatever the memory held)."""
    return _factory("empty", lambda xp, s, d: xp.empty(s, d), size, dtype, device, requires_grad)


def full(
    size,
    fill_value,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype follows the value (int64, bool or float).

    >>> full((2,), 7).dtype, full((2,), 7.0).dtype
    (ember.int64, ember.float32)
    """
    if isinstance(fill_value, TensorBase):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = dtypes.result_type(fill_value)
    size = (size,) if isinstance(size, int) else size
    return _factory("full", lambda xp, s, d: xp.full(s, fill_value, d), size, dtype, device, requires_grad)


def scalar_tensor(
    value, *, dtype=None, layout=None, device=None, requires_grad: bool = False, pin_memory: bool = False
) -> Tensor:
    """A 0-d tensor of the default float dtype (or ``dtype``)."""
    return full(
        (), value, dtype=dtype or dtypes.get_default_dtype(), device=device, requires_grad=requires_grad
    )


def _like(fn, t, dtype, device, requires_grad, *extra):
    return fn(t.shape, *extra, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def zeros_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    pin_memory: bool = False,
) -> Tensor:
    """Zeros with ``input``'s shape, dtype and device."""
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    pin_memory: bool = False,
) -> Tensor:
    """Ones with ``input``'s shape, dtype and device."""
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor with ``input``'s shape, dtype and device."""
    return _like(empty, input, dtype, device, requires_grad)


def full_like(
    input: Tensor,
    fill_value,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    pin_memory: bool = False,
) -> Tensor:
    """``fill_value`` (cast to ``input``'s dtype) with ``input``'s shape and device."""
    return full(
        input.shape,
        fill_value,
        dtype=dtype or input.dtype,
        device=device or input.device,
        requires_grad=requires_grad,
    )


def arange(
    start,
    end=None,
    step=1,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Values from ``start`` up to (not including) ``end``; int64 unless a bound is a float.

    >>> arange(3), arange(0, 1, 0.25)
    (tensor([0, 1, 2]), tensor([0.0000, 0.2500, 0.5000, 0.7500]))
    """
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, TensorBase) else x for x in (start, end, step))
    target = dtypes.result_type(start, end, step) if dtype is None else dtypes.as_dtype(dtype)
    if target is dtypes.bool:
        raise RuntimeError("arange: not implemented for bool; use arange(...) != 0 or a bool cast")
    if not target.is_floating_point:
        start, end, step = builtins.int(start), builtins.int(end), builtins.int(step)
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero (start={start}, end={end})")
    if not all(np.isfinite(float(x)) for x in (start, end)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end}; bounds must be finite")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: upper bound and lower bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    count = builtins.max(0, builtins.int(np.ceil((end - start) / step)))
    if target.is_floating_point:
        arr = (np.arange(count, dtype=np.float64) * step + start).astype(target.np)
    else:
        arr = (np.arange(count, dtype=np.int64) * step + start).astype(target.np)
    return _finish(arr, device, requires_grad)


def linspace(
    start,
    end,
    steps: int,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    steps = _check_steps("linspace", steps)
    start, end = (x.item() if isinstance(x, TensorBase) else x for x in (start, end))
    arr = np.linspace(float(start), float(end), steps, dtype=np.float64).astype(_np_dtype(dtype))
    return _finish(arr, device, requires_grad)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    steps = _check_steps("logspace", steps)
    start, end = (x.item() if isinstance(x, TensorBase) else x for x in (start, end))
    arr = np.logspace(float(start), float(end), steps, base=base, dtype=np.float64).astype(_np_dtype(dtype))
    return _finish(arr, device, requires_grad)


def _check_steps(op: str, steps) -> int:
    steps = builtins.int(steps)
    if steps < 0:
        raise RuntimeError(f"{op}: number of steps must be non-negative, got {steps}")
    return steps


def eye(
    n: int,
    m: int | None = None,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An ``n`` x ``m`` matrix with ones on the diagonal."""
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"eye: n and m must be greater or equal to 0, got n={n}, m={m}")
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), device, requires_grad)


# ``out=`` for every factory PyTorch gives one (the dtype follows ``out`` unless given)
for _name in (
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
):
    globals()[_name] = with_out(globals()[_name], factory=True)
