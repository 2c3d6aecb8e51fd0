"""``ember.backends.cudnn``: cuDNN switches (``benchmark``, ``deterministic``, ...).

ember's CUDA backend runs on CuPy; these flags live in ``ember.backend.flags.cudnn`` so the
backend can honour them. ``is_available()`` is True only where a CUDA device is usable.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

from ember.backend import flags as _flags

__all__ = ["flags", "is_acceptable", "is_available", "version"]


def is_available() -> bool:
    """True when a CUDA device is usable and CuPy can reach cuDNN."""
    return version() is not None


def version() -> int | None:
    """The cuDNN version CuPy sees, or None without one (as in PyTorch)."""
    from ember import cuda

    if not cuda.is_available():
        return None
    from ember import backend

    return backend.get("cuda").cudnn_version()


def is_acceptable(tensor) -> bool:
    """Whether cuDNN could run on ``tensor`` (a CUDA floating tensor, with cuDNN enabled)."""
    return bool(_flags.cudnn.enabled and tensor.is_cuda and tensor.is_floating_point() and is_available())


@contextlib.contextmanager
def flags(
    enabled: bool = False,
    benchmark: bool = False,
    benchmark_limit: int = 10,
    deterministic: bool = False,
    allow_tf32: bool = True,
    fp32_precision: str = "none",
    depthwise_kernel: str = "auto",
) -> Iterator[None]:
    """Set the cuDNN flags inside a ``with`` block and restore them afterwards.

    ``fp32_precision`` and ``depthwise_kernel`` are recorded (readable as module attributes, as in
    PyTorch) but no ember kernel reads them: CuPy chooses its cuDNN algorithms itself.
    """
    saved = _flags.cudnn.snapshot()
    _flags.cudnn.update(
        {
            "enabled": enabled,
            "benchmark": benchmark,
            "benchmark_limit": benchmark_limit,
            "deterministic": deterministic,
            "allow_tf32": allow_tf32,
            "fp32_precision": fp32_precision,
            "depthwise_kernel": depthwise_kernel,
        }
    )
    try:
        yield
    finally:
        _flags.cudnn.update(saved)


class _CudnnModule(types.ModuleType):
    """Module attributes ``enabled``, ``benchmark``, ... read and write the shared flags."""

    def __getattr__(self, name: str):
        if name in _flags.cudnn.snapshot():
            return getattr(_flags.cudnn, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in _flags.cudnn.snapshot():
            setattr(_flags.cudnn, name, value)
        else:
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _CudnnModule
