"""``ember.accelerator``: the current accelerator, if any (``torch.accelerator``)."""

from __future__ import annotations

from ember.device import device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "synchronize"]


def is_available() -> bool:
    from ember import cuda

    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device('cuda')`` when a GPU is usable, else None."""
    return device("cuda") if is_available() else None


def device_count() -> int:
    from ember import cuda

    return cuda.device_count()


def current_device_index() -> int:
    from ember import cuda

    return cuda.current_device() if is_available() else -1


def synchronize(device=None) -> None:
    from ember import cuda

    cuda.synchronize(device)
