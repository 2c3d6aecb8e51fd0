"""``ember.accelerator``: the current accelerator, if any (``torch.accelerator``).

ember's only accelerator is CUDA (through CuPy). As in PyTorch, ``current_accelerator()`` is
None without one, and calls that need a device raise a RuntimeError saying none is available.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from ember.device import device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "device_count",
    "device_index",
    "empty_cache",
    "empty_host_cache",
    "get_device_capability",
    "get_memory_info",
    "is_available",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_accumulated_memory_stats",
    "reset_peak_memory_stats",
    "set_device_idx",
    "set_device_index",
    "synchronize",
]

DeviceLike = device | str | int | None


def _cuda():
    from ember import cuda

    return cuda


def _require(op: str) -> None:
    if not is_available():
        raise RuntimeError(
            f"accelerator.{op}: Cannot access accelerator device when none is "
            "available (ember's accelerator is CUDA through CuPy)"
        )


def _index(dev: DeviceLike) -> int:
    if dev is None:
        return _cuda().current_device()
    if isinstance(dev, int):
        return dev
    return device(dev).index or 0


def is_available() -> bool:
    """True when a CUDA device is usable."""
    return _cuda().is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device('cuda')`` when ember is built for CUDA here (a usable GPU), else None."""
    return device("cuda") if is_available() else None


def device_count() -> int:
    return _cuda().device_count() if is_available() else 0


def current_device_index() -> int:
    """The index of the current CUDA device; a RuntimeError without one (as in PyTorch)."""
    _require("current_device_index")
    return _cuda().current_device()


current_device_idx = current_device_index


def set_device_index(device: DeviceLike, /) -> None:
    _require("set_device_index")
    _cuda().set_device(_index(device))


set_device_idx = set_device_index


@contextlib.contextmanager
def device_index(device: int | None, /) -> Iterator[None]:
    """Make ``device`` current inside a ``with`` block (``None`` changes nothing)."""
    if device is None:
        yield
        return
    previous = current_device_index()
    set_device_index(device)
    try:
        yield
    finally:
        set_device_index(previous)


def synchronize(device: DeviceLike = None, /) -> None:
    if is_available():
        _cuda().synchronize(device)


def empty_cache() -> None:
    if is_available():
        _cuda().empty_cache()


def empty_host_cache() -> None:
    """Nothing to do: ember allocates no pinned host memory pool."""


def memory_allocated(device_index: DeviceLike = None, /) -> int:
    _require("memory_allocated")
    return _cuda().memory_allocated(_index(device_index))


def max_memory_allocated(device_index: DeviceLike = None, /) -> int:
    return memory_allocated(device_index)


def memory_reserved(device_index: DeviceLike = None, /) -> int:
    return memory_allocated(device_index)


def max_memory_reserved(device_index: DeviceLike = None, /) -> int:
    return memory_allocated(device_index)


def memory_stats(device_index: DeviceLike = None, /) -> OrderedDict[str, Any]:
    used = memory_allocated(device_index)
    return OrderedDict([("allocated_bytes.all.current", used), ("reserved_bytes.all.current", used)])


def reset_peak_memory_stats(device_index: DeviceLike = None, /) -> None:
    _require("reset_peak_memory_stats")


def reset_accumulated_memory_stats(device_index: DeviceLike = None, /) -> None:
    _require("reset_accumulated_memory_stats")


def get_memory_info(device_index: DeviceLike = None, /) -> tuple[int, int]:
    """``(free, total)`` bytes on the device."""
    _require("get_memory_info")
    from ember import cuda

    return cuda.mem_get_info(device_index)


def get_device_capability(device: DeviceLike = None, /) -> dict[str, Any]:
    """The dtypes ember supports on the device (PyTorch answers ``{"supported_dtypes": [...]}``)."""
    _require("get_device_capability")
    from ember import dtypes

    names = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
    return {"supported_dtypes": [dtypes._BY_NAME[n] for n in names]}
