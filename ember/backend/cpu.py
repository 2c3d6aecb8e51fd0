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


def special_module():
    """SciPy's ``scipy.special`` (optional): the kernels of ``ember.special`` that NumPy lacks."""
    try:
        from scipy import special
    except ImportError as exc:
        raise ImportError(
            'this special function needs SciPy on the CPU: pip install "ember[special]" '
            "(or pip install scipy)"
        ) from exc
    return special
