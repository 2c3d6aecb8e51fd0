"""Type aliases PyTorch code annotates with (``torch.types``): ``Number``, ``Device``, ``_size``...

>>> from ember.types import Number
>>> def scale(x: Number) -> Number:
...     return 2 * x
>>> scale(1.5)
3.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO

from ember.device import device as _device_class
from ember.dtypes import dtype as _dtype_class
from ember.layouts import layout as _layout_class
from ember.tensor import Size, Tensor

__all__ = ["Device", "FileLike", "Number", "Size", "Tensor"]

_int = int
_float = float
_bool = bool
_complex = complex
_str = str
_bytes = bytes
_dtype = _dtype_class
_device = _device_class
_layout = _layout_class
_size = Size | list[int] | tuple[int, ...]
_symsize = _size

IntLikeType = int
FloatLikeType = float
BoolLikeType = bool

_Number = (int, float, bool)
Number = int | float | bool
Device = _device_class | str | int | None
FileLike = str | os.PathLike | IO[bytes]

_TensorOrTensors = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors = Tensor | Sequence[Tensor | None]
