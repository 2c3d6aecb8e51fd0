"""Reductions: sum, mean, ... (see ``ember.ops.reduce``)."""

from __future__ import annotations

from ember.methods._util import normalize_dims
from ember.ops import reduce


# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = ["sum", "mean"]
__all__: list = []  # free functions defined here


class ReduceMethods:
    __slots__ = ()

    def sum(self, dim=None, keepdim: bool = False, *, dtype=None):
        dims = normalize_dims(dim, self._data.ndim, "sum")
        np_dtype = None
        if dtype is not None:
            from ember import dtypes

            np_dtype = dtypes.as_dtype(dtype).np
        elif self._data.dtype.kind in "bui" and self._data.dtype.itemsize < 8:
            np_dtype = "int64"
        return reduce.Sum.apply(self, dims, keepdim, np_dtype)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None):
        src = self if dtype is None else self.to(dtype)
        if src._data.dtype.kind != "f":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {src.dtype} (shape {list(src.shape)}); call .float() first"
            )
        return reduce.Mean.apply(src, normalize_dims(dim, src._data.ndim, "mean"), keepdim)
