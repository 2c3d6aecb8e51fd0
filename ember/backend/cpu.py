"""The CPU backend, on NumPy."""

from __future__ import annotations

import numpy as np

from ember.device import device

name = "cpu"
xp = np
_CPU = device("cpu")


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def device_of(array) -> device:
    return _CPU


def to_numpy(array):
    return array


def synchronize(index: int | None = None) -> None:
    """Nothing to wait for: NumPy calls finish before they return."""


def _scipy(submodule: str, extra: str, needed_for: str):
    try:
        scipy = __import__(f"scipy.{submodule}")  # as an import statement does (tests stub it)
    except ImportError as exc:
        raise ImportError(
            f"ember needs SciPy's scipy.{submodule} on the CPU for {needed_for}: "
            f'pip install "ember[{extra}]" (or pip install scipy)'
        ) from exc
    return getattr(scipy, submodule)


def sparse_module():
    """``scipy.sparse``: the sparse-matrix kernels for NumPy arrays (SciPy is optional)."""
    return _scipy("sparse", "sparse", "sparse tensors")


def special_module():
    """``scipy.special``: special-function kernels for NumPy arrays (SciPy is optional)."""
    return _scipy("special", "special", "this special function")
