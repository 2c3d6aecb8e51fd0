"""``ember.backends.openmp``: whether the CPU kernels use OpenMP (NumPy's BLAS may; ember does not)."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    return False
