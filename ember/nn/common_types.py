"""Type aliases that layer code written for PyTorch annotates with (``_size_2_t``...).

>>> from ember.nn.common_types import _size_2_t
>>> def pair(size: _size_2_t) -> tuple:
...     return size if isinstance(size, tuple) else (size, size)
>>> pair(3)
(3, 3)
"""

from __future__ import annotations

from typing import TypeVar

from ember.tensor import Tensor

T = TypeVar("T")

# a scalar, or a tuple of it with one entry per spatial dim
_scalar_or_tuple_any_t = T | tuple[T, ...]
_scalar_or_tuple_1_t = T | tuple[T]
_scalar_or_tuple_2_t = T | tuple[T, T]
_scalar_or_tuple_3_t = T | tuple[T, T, T]
_scalar_or_tuple_4_t = T | tuple[T, T, T, T]
_scalar_or_tuple_5_t = T | tuple[T, T, T, T, T]
_scalar_or_tuple_6_t = T | tuple[T, T, T, T, T, T]

# sizes (kernel sizes, strides, paddings...)
_size_any_t = _scalar_or_tuple_any_t[int]
_size_1_t = _scalar_or_tuple_1_t[int]
_size_2_t = _scalar_or_tuple_2_t[int]
_size_3_t = _scalar_or_tuple_3_t[int]
_size_4_t = _scalar_or_tuple_4_t[int]
_size_5_t = _scalar_or_tuple_5_t[int]
_size_6_t = _scalar_or_tuple_6_t[int]

# sizes where an entry may be None (adaptive pooling's output sizes)
_size_any_opt_t = _scalar_or_tuple_any_t[int | None]
_size_2_opt_t = _scalar_or_tuple_2_t[int | None]
_size_3_opt_t = _scalar_or_tuple_3_t[int | None]

# scale factors
_ratio_2_t = _scalar_or_tuple_2_t[float]
_ratio_3_t = _scalar_or_tuple_3_t[float]
_ratio_any_t = _scalar_or_tuple_any_t[float]

_tensor_list_t = _scalar_or_tuple_any_t[Tensor]
# what max pooling returns with return_indices=True
_maybe_indices_t = _scalar_or_tuple_2_t[Tensor]
