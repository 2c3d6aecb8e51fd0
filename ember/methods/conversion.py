"""Conversions: dtype casts, device moves, NumPy/DLPack views and Python values."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from ember import backend, dtypes
from ember.autograd import function
from ember.device import as_device
from ember.ops import convert
from ember.tensor_core import TensorBase, make
from ember.typed_tensors import parse_type, type_name

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS: list = []
__all__: list = []


class ConversionMethods:
    __slots__ = ()

    def _cast(self, np_dtype) -> Tensor:
        if self._data.dtype == np_dtype:
            return self
        return convert.Cast.apply(self, np_dtype)

    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``; copies only if needed."""
        dtype, device, copy = _parse_to(args, kwargs)
        out = self
        if device is not None:
            device = as_device(device)
            if device != out.device and not (device.index is None and device.type == out.device.type):
                out = convert.ToDevice.apply(out, device)
        if dtype is not None:
            out = out._cast(dtypes.as_dtype(dtype).np)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self, memory_format=None) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        return self.to(
            as_device(
                "cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}"
            )
        )

    def pin_memory(self, device=None) -> Tensor:
        """A copy in page-locked host memory (this tensor if it is pinned already); needs CUDA."""
        cuda = backend.get("cuda")
        if not self.is_cpu:
            raise RuntimeError(f"cannot pin '{self.device}' memory: only dense CPU tensors can be pinned")
        if not cuda.is_available():
            raise RuntimeError(
                "Cannot access accelerator device when none is available: CUDA is not "
                "available, and pinning host memory needs it (CuPy and an NVIDIA GPU)"
            )
        if cuda.is_pinned(self._data):
            return self
        return make(cuda.pin(self._data)).requires_grad_(self._requires_grad)

    def is_pinned(self, device=None) -> builtins.bool:
        """Whether this tensor lives in page-locked host memory."""
        cuda = backend.get("cuda")
        return self.is_cpu and cuda.is_available() and cuda.is_pinned(self._data)

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        """No argument: PyTorch's type name (``'torch.FloatTensor'``); else convert to ``dtype``,
        a typed class (``ember.LongTensor``, ``ember.cuda.FloatTensor``) or its name."""
        if dtype is None:
            return type_name(self)
        target, device_type = parse_type(dtype)
        out = self.to(target)
        if device_type is not None and device_type != out.device.type:
            out = out.to(device_type)
        return out

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self, memory_format=None) -> Tensor:
        return self._cast(np.float32)

    def double(self, memory_format=None) -> Tensor:
        return self._cast(np.float64)

    def half(self, memory_format=None) -> Tensor:
        return self._cast(np.float16)

    def bfloat16(self, memory_format=None) -> Tensor:
        return self._cast(dtypes.bfloat16.np)

    def long(self, memory_format=None) -> Tensor:
        return self._cast(np.int64)

    def int(self, memory_format=None) -> Tensor:
        return self._cast(np.int32)

    def short(self, memory_format=None) -> Tensor:
        return self._cast(np.int16)

    def char(self, memory_format=None) -> Tensor:
        return self._cast(np.int8)

    def byte(self, memory_format=None) -> Tensor:
        return self._cast(np.uint8)

    def bool(self, memory_format=None) -> Tensor:
        return self._cast(np.bool_)

    def clone(self, memory_format=None) -> Tensor:
        return convert.Clone.apply(self)

    def numpy(self, force: bool = False) -> np.ndarray:
        """The array itself on the CPU (shared memory); ``force=True`` detaches and copies to the CPU."""
        if force:
            return backend.to_device(self._data, "cpu") if not self.is_cpu else self._data
        if self._requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if not self.is_cpu:
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy "
                "the tensor to host memory first."
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        if not self.is_cpu:  # as PyTorch: no implicit copy of device memory to the host
            self.numpy()
        data = self._data
        if copy is False and (dtype is not None and np.dtype(dtype) != data.dtype):
            raise ValueError("Tensor.__array__: copy=False is impossible when the dtype changes")
        if dtype is not None:
            data = data.astype(dtype, copy=bool(copy))
        elif copy:
            data = data.copy()
        return data

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A NumPy function's result on this tensor, as a new tensor (outside the graph)."""
        return make(np.asarray(array))

    def __dlpack__(self, stream=None, **kwargs):
        return self._data.__dlpack__(**({"stream": stream} if stream is not None else {}), **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar "
                f"(shape {list(self.shape)}); item() needs exactly one element"
            )
        if function._trace_hook is not None:
            function._trace_hook.read(self)
        backend.refuse_host_read_in_capture(self._data, "item()")
        return self._data.item()  # one element: an explicit device-to-host copy on CUDA

    def tolist(self):
        if function._trace_hook is not None:
            function._trace_hook.read(self)
        backend.refuse_host_read_in_capture(self._data, "tolist()")
        return self._data.tolist()  # CuPy's tolist copies to the host explicitly


def _parse_to(args, kwargs):
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    copy = kwargs.get("copy", False)
    for a in args:
        if isinstance(a, TensorBase):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (dtypes.dtype, np.dtype)) or a in (builtins.float, builtins.int, builtins.bool):
            dtype = a
        elif isinstance(a, builtins.bool):
            pass  # non_blocking, accepted and ignored
        elif a is not None:
            device = a
    return dtype, device, copy
