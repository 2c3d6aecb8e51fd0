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


def _scipy(submodule: str):
    try:
        import importlib

        return importlib.import_module(f"scipy.{submodule}")
    except ImportError as exc:
        raise ImportError(
            f"ember needs SciPy for scipy.{submodule} on the CPU (sparse tensors, special "
            f'functions): pip install "ember[sparse]" (or "ember[special]")'
        ) from exc


def sparse_module():
    """``scipy.sparse``: the sparse-matrix kernels for NumPy arrays (SciPy is optional)."""
    return _scipy("sparse")


def special_module():
    """``scipy.special``: special-function kernels for NumPy arrays (SciPy is optional)."""
    return _scipy("special")
