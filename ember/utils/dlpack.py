"""``ember.utils.dlpack``: exchange tensors with other libraries without copying (DLPack)."""

from __future__ import annotations

from typing import Any

from ember import backend
from ember.tensor import Tensor, make

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory (CPU or CUDA)."""
    return tensor.__dlpack__()


class _Capsule:
    """A bare capsule presented through the ``__dlpack__`` protocol, on an assumed device."""

    def __init__(self, capsule: Any, device: tuple[int, int]) -> None:
        self.capsule, self.device = capsule, device

    def __dlpack__(self, stream=None, **kwargs):
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.device


def from_dlpack(ext: Any) -> Tensor:
    """A tensor sharing memory with ``ext``: an object with ``__dlpack__`` or a DLPack capsule."""
    from ember.creation import from_dlpack as from_protocol

    if hasattr(ext, "__dlpack__"):
        return from_protocol(ext)
    cuda = backend.get("cuda")
    try:  # a capsule does not say its device here: try host memory, then the current GPU
        return make(backend.get("cpu").from_dlpack(_Capsule(ext, (1, 0))))
    except (BufferError, RuntimeError, ValueError, TypeError):
        if not cuda.is_available():
            raise
    return make(cuda.from_dlpack(_Capsule(ext, (2, cuda.current_device()))))
