"""Array backends: one module per device type, each exposing the same small surface.

A backend module has ``name``, ``xp`` (the NumPy-like array module), ``is_available()``,
``device_count()``, ``to_device(array, index)``, ``to_numpy(array)``, ``device_of(array)``
and ``synchronize()``. Ops never import NumPy or CuPy: they use ``xp_of(array)`` or ``ctx.xp``.
"""

from __future__ import annotations

import importlib

import numpy as np

from ember.backend.allocator import keep_freed_memory
from ember.device import as_device, device

__all__ = ["get", "xp_of", "device_of", "to_device", "array_types"]

keep_freed_memory()

_loaded: dict[str, object] = {}
_XP_BY_TYPE: dict[type, object] = {np.ndarray: np}


def get(kind: str):
    """The backend module for a device type (``'cpu'`` or ``'cuda'``), imported on first use."""
    mod = _loaded.get(kind)
    if mod is None:
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device type {kind!r}: expected 'cpu' or 'cuda'")
        mod = importlib.import_module(f"ember.backend.{kind}")
        _loaded[kind] = mod
    return mod


def xp_of(array):
    """The array module (numpy or cupy) that owns ``array``."""
    xp = _XP_BY_TYPE.get(type(array))
    if xp is None:
        xp = _slow_xp_of(array)
    return xp


def _slow_xp_of(array):
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return np
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        xp = get("cuda").xp
        _XP_BY_TYPE[type(array)] = xp
        return xp
    raise TypeError(f"ember: no backend holds arrays of type {type(array).__name__}")


_CPU = device("cpu")


def device_of(array) -> device:
    """The ``device`` an array lives on."""
    if type(array) is np.ndarray:
        return _CPU
    return get("cuda").device_of(array)


def to_device(array, dev) -> object:
    """Move (or keep) ``array`` on ``dev``; a no-op when it is already there."""
    dev = as_device(dev)
    if device_of(array) == dev or (dev.index is None and device_of(array).type == dev.type):
        return array
    if dev.type == "cpu":
        return get("cuda").to_numpy(array)
    return get("cuda").to_device(array, dev.index)


def register_array_type(array_type: type, xp) -> None:
    """Called by a backend when it loads, so that ``xp_of`` finds its arrays in one lookup."""
    _XP_BY_TYPE[array_type] = xp


def special_module(xp):
    """The ``scipy.special``-like module for ``xp``'s arrays; ImportError naming the fix if absent."""
    return get("cpu" if xp is np else "cuda").special_module()
