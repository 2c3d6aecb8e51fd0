"""``ember.cuda``: the CUDA device, answered honestly when there is none.

Everything here works without CuPy or a GPU: ``is_available()`` is False, ``device_count()`` is 0,
and calls that need a GPU raise an error saying what is missing.
"""

from __future__ import annotations

from ember import backend

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "synchronize", "get_device_name",
    "manual_seed", "manual_seed_all", "empty_cache", "memory_allocated", "is_bf16_supported", "device",
]


def _cuda():
    return backend.get("cuda")


def is_available() -> bool:
    """True when CuPy is installed and sees at least one NVIDIA GPU."""
    return _cuda().is_available()


def device_count() -> int:
    return _cuda().device_count()


def current_device() -> int:
    return _cuda().current_device()


def set_device(device) -> None:
    from ember.device import as_device

    index = device if isinstance(device, int) else as_device(device).index or 0
    _cuda().set_device(index)


def synchronize(device=None) -> None:
    if is_available():
        _cuda().synchronize(None if device is None else int(str(device).split(":")[-1]) if ":" in str(device) else device)


def get_device_name(device=None) -> str:
    return _cuda().get_device_name(device if isinstance(device, int) or device is None else int(str(device).split(":")[-1]))


def manual_seed(seed: int) -> None:
    """Seed the CUDA generator (ember draws random numbers on the CPU generator, so this seeds it)."""
    from ember.random import manual_seed as cpu_seed

    cpu_seed(seed)


manual_seed_all = manual_seed


def empty_cache() -> None:
    _cuda().empty_cache()


def memory_allocated(device=None) -> int:
    return _cuda().memory_allocated(device) if is_available() else 0


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return is_available()


class device:  # noqa: N801
    """Context manager that makes a CUDA device current (``torch.cuda.device``)."""

    def __init__(self, device):
        self.index = device if isinstance(device, int) else int(str(device).split(":")[-1])

    def __enter__(self):
        self._prev = current_device()
        set_device(self.index)

    def __exit__(self, *exc):
        set_device(self._prev)


def _legacy_types() -> None:
    """``ember.cuda.FloatTensor`` and friends (constructing one without a GPU raises), and
    ``ember.cuda.amp`` (the older spelling of ``ember.amp``)."""
    import importlib

    from ember.settings import OutOfMemoryError
    from ember.typed_tensors import CUDA_TYPES

    globals().update(CUDA_TYPES)
    globals()["amp"] = importlib.import_module("ember.cuda.amp")
    globals()["OutOfMemoryError"] = OutOfMemoryError
    __all__.extend([*CUDA_TYPES, "OutOfMemoryError"])


_legacy_types()
