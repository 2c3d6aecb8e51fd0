"""``scatter_reduce`` with 'amax', 'amin' and 'prod' (``index_reduce`` uses them too).

amax/amin are composed so that gradients split evenly between tied members of a group, as in
PyTorch: ``out = self * w_self + scatter_add(src * w_src)`` with ``w`` = 1/ties on the members
equal to the result.
"""

from __future__ import annotations

from ember import dtypes
from ember.ops import indexing as ops
from ember.ops.indexing import ufunc_at
from ember.ops.scatter_reduce import ScatterProd
from ember.tensor_core import make


def scatter_extreme(self, key, value, reduce: str, include_self: bool):
    """``self`` with ``value`` reduced in at ``key`` by 'amax', 'amin' or 'prod'."""
    if reduce == "prod":
        return ScatterProd.apply(self, value, key[1], include_self)
    xp, data = self.xp, self._data
    touched = xp.zeros(data.shape, bool)
    touched[key[1]] = True
    result = data.copy()
    if not include_self:
        result[touched] = _identity(xp, data.dtype, reduce)
    ufunc_at(xp, "maximum" if reduce == "amax" else "minimum", result, key[1], value._data)
    if not include_self:
        result = xp.where(touched, result, data)
    if not dtypes.is_floating_np(data.dtype):
        return make(result)
    # PyTorch counts ties with self's value even where include_self=False excludes self
    tied_self = data == result
    from_self = tied_self if include_self else ~touched
    from_src = value._data == result[key[1]]
    ties = tied_self.astype(data.dtype)
    ufunc_at(xp, "add", ties, key[1], from_src.astype(data.dtype))
    ties = xp.where(ties == 0, 1, ties)
    kept = self * make(from_self / ties)
    out = ops.IndexPut.apply(kept, key, value * make(from_src / ties[key[1]]), "add")
    # the exact extreme as the value, the tie weights as the gradient (inf == inf needs no fix)
    return out + make(xp.where(result == out._data, 0, result - out._data))


def _identity(xp, dtype, reduce: str):
    if dtypes.is_floating_np(dtype):
        return -xp.inf if reduce == "amax" else xp.inf
    info = xp.iinfo(dtype) if dtype.kind in "iu" else None
    if info is None:
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max
