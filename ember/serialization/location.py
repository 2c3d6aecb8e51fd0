"""``map_location`` as in ``torch.load``: where each loaded tensor goes.

``None`` puts a tensor back on the device it was saved from; a device or a string sends every
tensor there; a dict maps saved locations (``"cuda:1"``) to new ones; a callable is called as
``fn(tensor, location)`` with the tensor on the CPU (where PyTorch passes a storage) and may
return a tensor, or ``None`` to keep the default placement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember import backend
from ember.device import as_device
from ember.tensor import Tensor, make

__all__ = ["DeviceUnavailable", "Placer", "placer"]

Placer = Callable[[np.ndarray, str], Tensor]


class DeviceUnavailable(RuntimeError):
    """A tensor was saved on a device this machine does not have, and no map_location moved it."""


def placer(map_location: Any) -> Placer:
    """A function ``(cpu_array, saved_location) -> Tensor`` applying ``map_location``.

    >>> import numpy as np
    >>> place = placer({"cuda:0": "cpu"})
    >>> place(np.zeros(2), "cuda:0").device
    device(type='cpu')
    """
    if map_location is None:
        return _to
    if callable(map_location) and not isinstance(map_location, dict):
        return lambda array, location: _call(map_location, array, location)
    if isinstance(map_location, dict):
        table = {str(k): v for k, v in map_location.items()}
        return lambda array, location: _to(array, table.get(location, location))
    target = str(as_device(map_location))
    return lambda array, location: _to(array, target)


def _to(array: np.ndarray, location: Any) -> Tensor:
    dev = as_device(location)
    if dev.type == "cpu":
        return make(array)
    if not backend.get("cuda").is_available():
        raise DeviceUnavailable(
            f"Attempting to deserialize a tensor on {dev} but CUDA is not available. If you are "
            "running on a CPU-only machine, please use ember.load with map_location='cpu' to map "
            "your tensors to the CPU."
        )
    return make(backend.to_device(array, dev))


def _call(fn: Callable, array: np.ndarray, location: str) -> Tensor:
    result = fn(make(array), location)
    if result is None:
        return _to(array, location)
    if not isinstance(result, Tensor):
        raise TypeError(f"map_location returned {type(result).__name__}; expected a Tensor or None")
    return result
