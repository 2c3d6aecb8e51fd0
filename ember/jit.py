"""``torch.jit``'s Python-level API, run eagerly: ember has no TorchScript compiler.

Model code written to be scriptable keeps working: ``is_scripting()`` and ``is_tracing()`` are
False, the decorators (``ignore``, ``unused``, ``export``, ``interface``, ``script_method``)
return what they decorate, and ``script``/``trace`` return the function or Module itself, which
then runs eagerly (as ``ember.compile`` does). What needs a real TorchScript program (saving or
loading one, ``.graph``, ``.code``) is not here: ``ember.jit.save`` does not exist.

>>> import ember
>>> @ember.jit.script
... def swish(x):
...     return x * ember.sigmoid(x)
>>> swish(ember.zeros(2))
tensor([0., 0.])
>>> ember.jit.is_scripting()
False
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Final",
    "annotate",
    "export",
    "fork",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "isinstance",
    "script",
    "script_method",
    "trace",
    "trace_module",
    "unused",
    "wait",
]

_T = TypeVar("_T")
Final = typing.Final
_builtin_isinstance = isinstance


def is_scripting() -> bool:
    """False: ember code is never being compiled by TorchScript."""
    return False


def is_tracing() -> bool:
    """False: ember never traces."""
    return False


def script(obj: _T, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None) -> _T:
    """``obj`` itself (a function or Module), run eagerly."""
    return obj


def trace(
    func: _T,
    example_inputs=None,
    optimize=None,
    check_trace=True,
    check_inputs=None,
    check_tolerance=1e-05,
    strict=True,
    **unused,
) -> _T:
    """``func`` itself, run eagerly on every call (nothing is recorded from ``example_inputs``)."""
    return func


def trace_module(
    mod: _T,
    inputs=None,
    optimize=None,
    check_trace=True,
    check_inputs=None,
    check_tolerance=1e-05,
    strict=True,
    **unused,
) -> _T:
    """``mod`` itself, run eagerly."""
    return mod


def ignore(drop: Any = False, **kwargs) -> Any:
    """Marks a function TorchScript should leave to Python; usable bare or as ``ignore(drop=True)``."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn: Callable) -> Callable:
    """``fn`` itself."""
    return fn


def export(fn: Callable) -> Callable:
    """``fn`` itself."""
    return fn


def interface(obj: _T) -> _T:
    """``obj`` itself."""
    return obj


def script_method(fn: Callable) -> Callable:
    """``fn`` itself."""
    return fn


def annotate(the_type: Any, the_value: _T) -> _T:
    """``the_value`` (the type is only a hint for the TorchScript compiler)."""
    return the_value


def isinstance(obj: Any, target_type: Any) -> bool:  # noqa: A001 - PyTorch's name
    """Python's ``isinstance``, for the container types TorchScript writes (``List[int]``...)."""
    origin = typing.get_origin(target_type)
    return _builtin_isinstance(obj, origin or target_type)


class _Future:
    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value


def fork(func: Callable, *args, **kwargs) -> _Future:
    """Runs ``func`` now; ``wait`` on the result gives its value."""
    return _Future(func(*args, **kwargs))


def wait(future: _Future) -> Any:
    """The value of a ``fork``."""
    return future.wait()
