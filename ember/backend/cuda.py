"""The CUDA backend, on CuPy. Imported only when a CUDA device is asked for.

Everything here answers honestly when CuPy or a GPU is missing: ``is_available()`` is False
and moving a tensor raises an error that says what is missing.
"""

from __future__ import annotations

from ember.device import device

name = "cuda"
_cupy = None
_import_error: Exception | None = None


def _load():
    global _cupy, _import_error
    if _cupy is None and _import_error is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
            from ember import backend

            backend.register_array_type(cupy.ndarray, cupy)
        except Exception as exc:  # ImportError, or CUDA driver errors when no GPU is present
            _import_error = exc
    return _cupy


def __getattr__(attr):
    if attr == "xp":
        return _require()
    raise AttributeError(f"module 'ember.backend.cuda' has no attribute {attr!r}")


def _require():
    cupy = _load()
    if cupy is None:
        raise RuntimeError(
            "CUDA is not available: ember's CUDA backend needs CuPy and an NVIDIA GPU "
            f"(pip install cupy-cuda12x). The import failed with: {_import_error!r}"
        )
    return cupy


def is_available() -> bool:
    cupy = _load()
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def device_count() -> int:
    return _load().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device() -> int:
    return _require().cuda.runtime.getDevice()


def set_device(index: int) -> None:
    _require().cuda.runtime.setDevice(index)


def device_of(array) -> device:
    return device("cuda", array.device.id)


def to_device(array, index: int | None):
    cupy = _require()
    with cupy.cuda.Device(current_device() if index is None else index):
        return cupy.asarray(array)


def to_numpy(array):
    return array.get()


def synchronize(index: int | None = None) -> None:
    cupy = _require()
    with cupy.cuda.Device(current_device() if index is None else index):
        cupy.cuda.runtime.deviceSynchronize()


def get_device_name(index: int | None = None) -> str:
    cupy = _require()
    props = cupy.cuda.runtime.getDeviceProperties(current_device() if index is None else index)
    return props["name"].decode()


def memory_allocated(index: int | None = None) -> int:
    return _require().get_default_memory_pool().used_bytes()


def empty_cache() -> None:
    if _load() is not None:
        _cupy.get_default_memory_pool().free_all_blocks()


def special_module():
    """CuPy's ``cupyx.scipy.special``: the kernels of ``ember.special`` on the GPU."""
    _require()
    from cupyx.scipy import special

    return special
