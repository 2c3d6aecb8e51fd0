"""Array backends: one module per device type, each exposing the same small surface.

A backend module has ``name``, ``xp`` (the NumPy-like array module), ``is_available()``,
``device_count()``, ``current_device()``, ``device_guard(index)``, ``to_device(array, index)``,
``to_numpy(array)``, ``device_of(array)``, ``synchronize()``, ``from_dlpack(obj)`` and the few
kernels NumPy and CuPy do differently: ``ufunc_at`` (unbuffered scatter), ``copy_rows``,
``special_functions()``. Ops never import NumPy or CuPy: they use ``xp_of(array)`` or ``ctx.xp``,
and ``for_xp(xp)`` for those kernels.

With ``EMBER_FAKE_CUDA=1`` in the environment (tests only), ``get("cuda")`` is the CUDA
stand-in, ``ember.backend.fake_cuda``: NumPy memory that behaves like CuPy's.
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from ember.backend.allocator import keep_freed_memory
from ember.device import as_device, device

__all__ = ["HOST_ARRAY", "device_of", "fake_cuda_enabled", "for_xp", "get", "to_device", "writeable", "xp_of"]

keep_freed_memory()

HOST_ARRAY = np.ndarray  # the array type of host (CPU) memory
_loaded: dict[str, object] = {}
_XP_BY_TYPE: dict[type, object] = {np.ndarray: np}
_BACKEND_BY_XP: dict[int, object] = {}


def fake_cuda_enabled() -> bool:
    """True when the test-only CUDA stand-in was asked for (``EMBER_FAKE_CUDA=1``)."""
    return os.environ.get("EMBER_FAKE_CUDA", "") not in ("", "0")


def cuda_is_built() -> bool:
    """Whether the CUDA backend's library (CuPy) is installed, or the stand-in is on."""
    import importlib.util

    return fake_cuda_enabled() or importlib.util.find_spec("cupy") is not None


def get(kind: str):
    """The backend module for a device type (``'cpu'`` or ``'cuda'``), imported on first use."""
    mod = _loaded.get(kind)
    if mod is None:
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device type {kind!r}: expected 'cpu' or 'cuda'")
        module = "fake_cuda" if kind == "cuda" and fake_cuda_enabled() else kind
        mod = importlib.import_module(f"ember.backend.{module}")
        _loaded[kind] = mod
        if module == "fake_cuda":
            register_array_type(mod.FakeCudaArray, mod.xp, mod)
    return mod


def for_xp(xp):
    """The backend module whose array module is ``xp`` (for its device-specific kernels)."""
    mod = _BACKEND_BY_XP.get(id(xp))
    if mod is None:
        mod = get("cpu") if xp is np else get("cuda")
        _BACKEND_BY_XP[id(xp)] = mod
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
    if module == "cupy" or (fake_cuda_enabled() and module == "ember"):
        xp = get("cuda").xp
        _XP_BY_TYPE[type(array)] = xp
        return xp
    raise TypeError(f"ember: no backend holds arrays of type {type(array).__name__}")


_CPU = device("cpu")


def device_of(array) -> device:
    """The ``device`` an array lives on."""
    if type(array) is np.ndarray or isinstance(array, np.ndarray):
        return _CPU
    return get("cuda").device_of(array)


def to_device(array, dev) -> object:
    """Move (or keep) ``array`` on ``dev``; a no-op when it is already there."""
    dev = as_device(dev)
    here = device_of(array)
    if here == dev or (dev.index is None and here.type == dev.type):
        return array
    if dev.type == "cpu":
        return get("cuda").to_numpy(array)
    return get("cuda").to_device(array, dev.index)


def refuse_host_read_in_capture(array, what: str) -> None:
    """CUDA's error for reading a device array on the host while a CUDA graph capture is underway
    (ember checks before CuPy copies: CuPy may copy on a stream the capture does not see)."""
    if type(array) is HOST_ARRAY:
        return
    cuda = _loaded.get("cuda")
    if cuda is not None and not cuda.fake and cuda.is_capturing():  # the stand-in's arrays refuse
        raise RuntimeError(
            "cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing "
            f"(a device-to-host copy ({what}) during CUDA graph capture)"
        )


def writeable(array) -> bool:
    """Whether writing into ``array`` is safe: NumPy's flag; for device arrays (CuPy keeps no such
    flag) whether no element is reached twice (a broadcast view has a zero stride)."""
    if isinstance(array, np.ndarray):
        return array.flags.writeable
    return not any(s == 0 and n > 1 for s, n in zip(array.strides, array.shape))


def register_array_type(array_type: type, xp, module=None) -> None:
    """Called by a backend when it loads, so that ``xp_of`` finds its arrays in one lookup."""
    _XP_BY_TYPE[array_type] = xp
    if module is not None:
        _BACKEND_BY_XP[id(xp)] = module


def special_module(xp):
    """The ``scipy.special``-like module for ``xp``'s arrays; ImportError naming the fix if absent."""
    return for_xp(xp).special_module()
