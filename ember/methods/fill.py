"""Filling and copying in place (``zero_``, ``fill_``, ``copy_``) and the ``new_*`` factories."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember import backend, creation, dtypes
from ember.methods._util import size_args
from ember.methods.elementwise import _scalar_tensor, _where
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS: list = []
__all__: list = []


def _new_array(self: Tensor, kernel: str, size, fill, dtype, device, requires_grad: bool) -> Tensor:
    shape = size_args(size, f"new_{kernel}")
    np_dtype = self._data.dtype if dtype is None else dtypes.as_dtype(dtype).np
    xp = self.xp
    data = xp.full(shape, fill, np_dtype) if kernel == "full" else getattr(xp, kernel)(shape, np_dtype)
    if device is not None:
        data = backend.to_device(data, device)
    t = make(data)
    return t.requires_grad_() if requires_grad else t


class FillMethods:
    __slots__ = ()

    # -- in place
    def zero_(self) -> Tensor:
        """Fill with zeros, in place."""
        if self._needs_graph():
            return self._set_from("zero_", self.where(self._full_bool(False), 0))
        self._check_inplace("zero_")
        self._data.fill(0)
        self._bump_version("zero_")
        return self

    def fill_(self, value) -> Tensor:
        """Fill with ``value`` (a number or a 0-d tensor, whose gradient is the sum), in place."""
        if isinstance(value, TensorBase):
            if value._data.ndim != 0:
                raise RuntimeError(
                    f"fill_ only supports 0-dimension value tensor but got tensor with {value._data.ndim} "
                    f"dimensions (shape {list(value.shape)}); use copy_ to write a tensor"
                )
            if self._needs_graph(value):
                filler = value.to(self.device)._cast(self._data.dtype)
                return self._set_from("fill_", _where(self._full_bool(True), filler, self))
            value = value.item()
        elif self._needs_graph():
            return self._set_from("fill_", self.where(self._full_bool(False), value))
        self._check_inplace("fill_")
        self._data.fill(value)
        self._bump_version("fill_")
        return self

    def copy_(self, src=None, non_blocking: bool = False, *, other=None) -> Tensor:
        """Copy ``src`` in (broadcast, cast and moved as needed); the gradient flows to ``src``."""
        src = other if src is None else src
        src = _scalar_tensor(src, self)
        if self._needs_graph(src):
            moved = src.to(self.device)._cast(self._data.dtype)
            return self._set_from("copy_", _where(self._full_bool(True), moved, self))
        self._check_inplace("copy_")
        data = src._data
        if type(data) is not type(self._data):
            data = backend.to_device(data, self.device)
        try:
            self.xp.copyto(self._data, data, casting="unsafe")
        except ValueError as exc:
            raise RuntimeError(
                f"copy_: the source of shape {list(src.shape)} can't be broadcast to the destination "
                f"shape {list(self.shape)}"
            ) from exc
        self._bump_version("copy_")
        return self

    def _full_bool(self, value: bool) -> Tensor:
        return make(self.xp.full((), value, bool))

    # -- factories with this tensor's dtype and device -----------------------------------------
    def new_tensor(
        self,
        data,
        *,
        dtype=None,
        device=None,
        requires_grad: bool = False,
        layout=None,
        pin_memory: bool = False,
    ) -> Tensor:
        """A copy of ``data`` with this tensor's dtype and device unless given."""
        return creation.tensor(
            data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
        )

    def new_zeros(
        self,
        *args,
        size=None,
        dtype=None,
        device=None,
        requires_grad: bool = False,
        layout=None,
        pin_memory: bool = False,
    ) -> Tensor:
        """Zeros of ``size``, with this tensor's dtype and device unless given."""
        size = args if size is None else (size,)
        return _new_array(self, "zeros", size, 0, dtype, device, requires_grad)

    def new_ones(
        self,
        *args,
        size=None,
        dtype=None,
        device=None,
        requires_grad: bool = False,
        layout=None,
        pin_memory: bool = False,
    ) -> Tensor:
        """Ones of ``size``, with this tensor's dtype and device unless given."""
        size = args if size is None else (size,)
        return _new_array(self, "ones", size, 1, dtype, device, requires_grad)

    def new_empty(
        self,
        *args,
        size=None,
        dtype=None,
        device=None,
        requires_grad: bool = False,
        layout=None,
        pin_memory: bool = False,
    ) -> Tensor:
        """An uninitialised tensor of ``size``, with this tensor's dtype and device unless given."""
        size = args if size is None else (size,)
        return _new_array(self, "empty", size, None, dtype, device, requires_grad)

    def new_full(
        self,
        size,
        fill_value,
        *,
        dtype=None,
        device=None,
        requires_grad: bool = False,
        layout=None,
        pin_memory: bool = False,
    ) -> Tensor:
        """``fill_value`` repeated to ``size``, with this tensor's dtype and device unless given."""
        return _new_array(self, "full", (size,), fill_value, dtype, device, requires_grad)
