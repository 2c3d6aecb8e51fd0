"""NumPy's keyword spellings that PyTorch's argument parser also accepts: ``axis`` for ``dim``
and ``keepdims`` for ``keepdim`` (``x.sum(axis=0, keepdims=True)``).

``install(Tensor)`` wraps, once, every method that takes ``dim`` or ``keepdim`` so that these
spellings are translated before the call; the free functions call the methods, so they follow.
"""

from __future__ import annotations

import functools
import inspect

_SPELLINGS = {"axis": "dim", "keepdims": "keepdim"}


def translate(op: str, kwargs: dict) -> None:
    """Rename NumPy-spelled keywords in ``kwargs`` in place."""
    for numpy_name, name in _SPELLINGS.items():
        if numpy_name in kwargs:
            if name in kwargs:
                raise TypeError(
                    f"{op}() got multiple values for argument '{name}' "
                    f"(given as '{name}' and as '{numpy_name}')"
                )
            kwargs[name] = kwargs.pop(numpy_name)


def _accepting_numpy_names(name: str, method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if "axis" in kwargs or "keepdims" in kwargs:
            translate(name, kwargs)
        return method(self, *args, **kwargs)

    return wrapper


def install(cls) -> None:
    """Wrap each public method of ``cls`` that has a ``dim`` or ``keepdim`` parameter."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        method = inspect.getattr_static(cls, name)
        if not inspect.isfunction(method):
            continue
        params = inspect.signature(method).parameters
        if ("dim" in params or "keepdim" in params) and "axis" not in params:
            setattr(cls, name, _accepting_numpy_names(name, method))
