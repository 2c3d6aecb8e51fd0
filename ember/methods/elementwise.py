"""Elementwise methods beyond the operators (see ``ember.ops.elementwise``)."""

from __future__ import annotations

from ember.ops import elementwise


def _float(t):
    from ember import dtypes

    return t if t._data.dtype.kind == "f" else t._cast(dtypes.get_default_dtype().np)


# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = ["exp", "log"]
__all__: list = []  # free functions defined here


class ElementwiseMethods:
    __slots__ = ()

    def exp(self):
        return elementwise.Exp.apply(_float(self))

    def log(self):
        return elementwise.Log.apply(_float(self))
