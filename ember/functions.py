"""Free functions (``ember.add``, ``ember.exp``, ``ember.cat``, ...).

Each family file in ``ember.methods`` lists ``FUNCTIONS``: the Tensor methods that are also
free functions (``ember.exp(x)`` is ``x.exp()``), and ``__all__``: the functions it defines
itself (``cat``, ``where``, ...). This module gathers both for ``ember/__init__.py``.
"""

from __future__ import annotations

from ember.methods import (
    complex,
    elementwise,
    indexing,
    join,
    linalg,
    reduce,
    shape,
    special,
    spectral,
)
from ember.tensor import Tensor

_FAMILIES = (elementwise, reduce, shape, join, indexing, linalg, complex, special, spectral)
_CORE = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "neg",
         "negative", "matmul", "clone", "detach"]


def _method(name):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``ember.{name}(input, ...)`` is ``input.{name}(...)``."
    return function


__all__ = []
for _family in (None,) + _FAMILIES:
    for _name in _CORE if _family is None else getattr(_family, "FUNCTIONS", ()):
        globals()[_name] = _method(_name)
        __all__.append(_name)
    for _name in getattr(_family, "__all__", ()) if _family is not None else ():
        globals()[_name] = getattr(_family, _name)
        __all__.append(_name)
