"""``ember.backends.cpu``: the CPU's vector capability, as PyTorch reports it."""

from __future__ import annotations

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """PyTorch answers the SIMD level its kernels use; ember's kernels are NumPy's: ``"DEFAULT"``."""
    return "DEFAULT"
