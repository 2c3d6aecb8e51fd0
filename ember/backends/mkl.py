"""``ember.backends.mkl``: whether ember's CPU kernels are built on Intel MKL (they are NumPy's)."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    return False
