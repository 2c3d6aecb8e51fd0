"""Legacy typed sparse constructors (``torch.sparse.FloatTensor(indices, values, size)``),
which older graph code (pygcn, for one) still calls."""

from __future__ import annotations

from ember import dtypes
from ember.sparse.creation import sparse_coo_tensor
from ember.sparse.tensor import SparseTensor
from ember.tensor import Tensor

__all__ = ["ByteTensor", "DoubleTensor", "FloatTensor", "IntTensor", "LongTensor"]


class _LegacySparseType(type):
    """``isinstance(s, ember.sparse.FloatTensor)``: a sparse tensor of that dtype."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, SparseTensor) and obj.dtype is cls._dtype


class _LegacySparse(metaclass=_LegacySparseType):
    _dtype = dtypes.float32

    def __new__(cls, *args, size=None, device=None):
        if len(args) >= 2 and isinstance(args[0], Tensor):
            indices, values, *rest = args
            size = tuple(rest[0]) if rest else size
            return sparse_coo_tensor(indices, values, size, dtype=cls._dtype, device=device)
        shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        ndim = len(shape)
        return sparse_coo_tensor([[]] * max(ndim, 1), [], shape or (0,), dtype=cls._dtype, device=device)


class FloatTensor(_LegacySparse):
    """``FloatTensor(indices, values, size)``: a float32 sparse COO tensor."""

    _dtype = dtypes.float32


class DoubleTensor(_LegacySparse):
    _dtype = dtypes.float64


class LongTensor(_LegacySparse):
    _dtype = dtypes.int64


class IntTensor(_LegacySparse):
    _dtype = dtypes.int32


class ByteTensor(_LegacySparse):
    _dtype = dtypes.uint8
