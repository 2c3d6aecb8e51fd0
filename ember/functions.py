"""Free functions (``ember.add``, ``ember.exp``, ``ember.cat``, ...).

Each family file in ``ember.methods`` lists ``FUNCTIONS``: the Tensor methods that are also
free functions (``ember.exp(x)`` is ``x.exp()``), and ``__all__``: the functions it defines
itself (``cat``, ``where``, ...). This module gathers both for ``ember/__init__.py``. Every
free function takes PyTorch's ``out=`` (``ember.methods._out``) and, for method twins, the
tensor as ``input=``; each advertises its real signature, which the API audit reads.
"""

from __future__ import annotations

import inspect

from ember.methods import (
    complex,
    elementwise,
    extra_math,
    indexing,
    join,
    linalg,
    reduce,
    shape,
    special,
    spectral,
    stats,
)
from ember.methods import structure as structure_ops
from ember.methods._out import with_out
from ember.tensor import Tensor

_FAMILIES = (
    elementwise,
    reduce,
    shape,
    join,
    indexing,
    linalg,
    extra_math,
    stats,
    structure_ops,
    complex,
    special,
    spectral,
)
_CORE = [
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "pow",
    "neg",
    "negative",
    "matmul",
    "clone",
    "detach",
]


def _free_signature(method) -> inspect.Signature:
    """The method's signature with ``self`` spelled ``input``, as PyTorch's free functions do."""
    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):
        return inspect.Signature([inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD)])
    params = list(sig.parameters.values())
    if params and params[0].name == "self":
        params[0] = params[0].replace(name="input")
    return sig.replace(parameters=params)


def _method(name):
    method = getattr(Tensor, name)
    if isinstance(method, property):  # ember.real(x), ember.imag(x): the attribute's getter
        method = method.fget

    def function(*args, **kwargs):
        if "input" in kwargs:
            args = (kwargs.pop("input"), *args)
        return method(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``ember.{name}(input, ...)`` is ``input.{name}(...)``."
    return with_out(function, name, _free_signature(method))


def _inplace_method(name):
    """``ember.abs_(x)`` is ``x.abs_()``: PyTorch exposes most in-place twins at the top level."""
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``ember.{name}(input, ...)`` is ``input.{name}(...)`` (in place)."
    function.__signature__ = _free_signature(method)
    return function


__all__ = []
for _family in (None,) + _FAMILIES:
    for _name in _CORE if _family is None else getattr(_family, "FUNCTIONS", ()):
        maker = _inplace_method if _name.endswith("_") else _method
        globals()[_name] = maker(_name)
        __all__.append(_name)
    for _name in getattr(_family, "__all__", ()) if _family is not None else ():
        _fn = getattr(_family, _name)
        if inspect.isfunction(_fn) and not _name.endswith("_"):
            _fn = with_out(_fn)
        globals()[_name] = _fn
        __all__.append(_name)
for _name in getattr(structure_ops, "INPLACE_FUNCTIONS", ()):
    globals()[_name] = _inplace_method(_name)
    __all__.append(_name)
