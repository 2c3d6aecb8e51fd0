"""``ember.backends.mkldnn``: oneDNN switches; ember's CPU kernels are NumPy's, so none is used."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

from ember.backend import flags as _flags

__all__ = ["flags", "is_available"]


def is_available() -> bool:
    """False: ember does not link oneDNN (its CPU kernels are NumPy's)."""
    return False


@contextlib.contextmanager
def flags(enabled: bool = False, deterministic: bool = False) -> Iterator[None]:
    """Set the flags inside a ``with`` block and restore them afterwards."""
    saved = _flags.mkldnn.snapshot()
    _flags.mkldnn.update({"enabled": enabled, "deterministic": deterministic})
    try:
        yield
    finally:
        _flags.mkldnn.update(saved)


class _MkldnnModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name in _flags.mkldnn.snapshot():
            return getattr(_flags.mkldnn, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in _flags.mkldnn.snapshot():
            setattr(_flags.mkldnn, name, value)
        else:
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _MkldnnModule
