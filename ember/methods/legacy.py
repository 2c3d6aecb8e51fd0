"""Device probes, storage-era methods and CPU answers to GPU-only calls.

ember tensors live on the CPU or a CUDA GPU, so every other device probe (``is_xpu``,
``is_mps``, ...) is False. Storage-era methods (``new``, ``resize_``, ``storage_offset``,
``apply_``) work on the tensor's own array. ``pin_memory`` has no meaning without a GPU and
says so; ``record_stream`` has nothing to record on the CPU.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ember.methods._util import size_args
from ember.tensor_core import Size, TensorBase, _address
from ember.typed_tensors import require_cuda

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS: list = []
__all__: list = []


def _false(self) -> bool:
    return False


class LegacyMethods:
    __slots__ = ()

    is_xpu = is_mps = is_ipu = is_xla = is_mkldnn = is_mtia = is_maia = is_vulkan = is_nested = property(
        _false, doc="False: ember tensors live on the CPU or a CUDA GPU."
    )

    def get_device(self) -> int:
        """-1 on the CPU, the GPU's index for a CUDA tensor."""
        return -1 if self.is_cpu else (self.device.index or 0)

    def storage_offset(self) -> int:
        """Elements between the start of the base tensor's memory and this view's first element."""
        base = self._base
        if base is None:
            return 0
        return (_address(self._data) - _address(base._data)) // self._data.itemsize

    def dim_order(self, *, ambiguity_check: bool = False) -> tuple:
        """The dims from outermost to innermost in memory (by decreasing stride)."""
        strides = self.stride()
        return tuple(sorted(range(self._data.ndim), key=lambda d: -strides[d]))

    def const_data_ptr(self) -> int:
        return self.data_ptr()

    def is_pinned(self, device=None) -> bool:
        """False: ember does not page-lock host memory."""
        return False

    def pin_memory(self, device=None) -> Tensor:
        """Page-locked memory needs a GPU: without one this raises, as PyTorch does."""
        require_cuda("pin_memory")
        return self

    def record_stream(self, stream) -> None:
        """Nothing to record: ember's allocator does not reuse memory across streams."""

    # -- storage-era constructors and resizing ---------------------------------------------------
    def new(self, *args, **kwargs) -> Tensor:
        """Legacy constructor of this tensor's dtype and device: ``x.new(2, 3)``, ``x.new(data)``."""
        if args and not all(isinstance(a, int) for a in args) and not isinstance(args[0], Size):
            if len(args) == 1 and isinstance(args[0], TensorBase):
                return args[0]
            return self.new_tensor(args[0], **kwargs)
        return self.new_empty(size_args(args, "new") if args else (0,), **kwargs)

    def new_empty_strided(
        self,
        size,
        stride,
        *,
        dtype=None,
        device=None,
        requires_grad: bool = False,
        layout=None,
        pin_memory: bool = False,
    ) -> Tensor:
        """An uninitialised tensor of ``size`` (ember tensors are laid out contiguously)."""
        return self.new_empty(size, dtype=dtype, device=device, requires_grad=requires_grad)

    def resize_(self, *sizes, memory_format=None) -> Tensor:
        """Change the shape in place, keeping the leading elements (new ones uninitialised)."""
        shape = size_args(sizes, "resize_")
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError("cannot resize variables that require grad")
        if shape == tuple(self.shape):
            return self
        xp, n = self.xp, math.prod(shape)
        flat = xp.empty(n, dtype=self._data.dtype)
        keep = min(n, self._data.size)
        flat[:keep] = self._data.reshape(-1)[:keep]
        self._data = flat.reshape(shape)
        self._bump_version("resize_")
        return self

    def resize_as_(self, the_template, memory_format=None) -> Tensor:
        return self.resize_(*the_template.shape)

    def resize(self, *sizes) -> Tensor:
        """A resized copy (the deprecated out-of-place ``resize``)."""
        return self.detach().clone().resize_(*sizes)

    def resize_as(self, tensor) -> Tensor:
        return self.resize(*tensor.shape)

    def apply_(self, callable) -> Tensor:
        """Replace each element by ``callable(element)`` in place (CPU tensors; slow, as in PyTorch)."""
        self._check_cpu("apply_")
        values = [callable(v) for v in self._data.reshape(-1).tolist()]
        return self._write_values("apply_", values)

    def map_(self, tensor, callable) -> Tensor:
        """``self[i] = callable(self[i], tensor[i])`` in place (``tensor`` broadcast to ``self``)."""
        self._check_cpu("map_")
        other = tensor.expand_as(self)._data.reshape(-1).tolist()
        values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(), other)]
        return self._write_values("map_", values)

    def map2_(self, x, y, callable) -> Tensor:
        """``self[i] = callable(self[i], x[i], y[i])`` in place."""
        self._check_cpu("map2_")
        xs, ys = (t.expand_as(self)._data.reshape(-1).tolist() for t in (x, y))
        values = [callable(a, b, c) for a, b, c in zip(self._data.reshape(-1).tolist(), xs, ys)]
        return self._write_values("map2_", values)

    def _check_cpu(self, op: str) -> None:
        if not self.is_cpu:
            raise TypeError(f"{op} is only implemented on CPU tensors (got {self.device})")
        self._check_inplace(op)

    def _write_values(self, op: str, values: list) -> Tensor:
        array = self.xp.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
        self.xp.copyto(self._data, array)
        self._bump_version(op)
        return self

    def as_subclass(self, cls) -> Tensor:
        """A ``cls`` instance sharing this tensor's data (and version counter), cut from the graph."""
        out = object.__new__(cls)
        for slot in TensorBase.__slots__:
            if slot != "__weakref__":
                setattr(out, slot, getattr(self, slot))
        out._vc, out._hooks, out._accumulator = self._version_counter(), None, None
        return out
