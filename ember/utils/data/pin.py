"""``pin_memory=True``: batches copied into page-locked host memory, for fast copies to CUDA."""

from __future__ import annotations

import warnings
from typing import Any

from ember import backend
from ember.tensor import Tensor

__all__ = ["pin_available", "pin_batch"]

_warned: list = []


def pin_available(requested: bool) -> bool:
    """Whether batches get pinned; warns once, as PyTorch does, when asked without a GPU."""
    if not requested:
        return False
    if backend.get("cuda").is_available():
        return True
    if not _warned:
        _warned.append(True)
        warnings.warn(
            "'pin_memory' argument is set as true but no accelerator is found, then "
            "device pinned memory won't be used.",
            UserWarning,
            stacklevel=3,
        )
    return False


def pin_batch(batch: Any) -> Any:
    """``batch`` with every CPU tensor in it copied to pinned memory (containers kept)."""
    if isinstance(batch, Tensor):
        return batch.pin_memory()
    if isinstance(batch, dict):
        return type(batch)({k: pin_batch(v) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(pin_batch(v) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(pin_batch(v) for v in batch)
    if hasattr(batch, "pin_memory"):
        return batch.pin_memory()
    return batch
