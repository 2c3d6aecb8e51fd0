"""How a tensor in shared memory is pickled for another process: a handle, not a copy.

Registered with ``multiprocessing.reduction.ForkingPickler`` (what queues, pipes and *spawn*
use). A tensor that is not in shared memory pickles as usual (a copy).
"""

from __future__ import annotations

import os
from multiprocessing import reduction
from typing import Any

from ember.backend import shared
from ember.tensor import Tensor, make

__all__ = ["register", "strategy"]

strategy = "file_descriptor"


def _handle(fd: int) -> Any:
    if strategy == "file_system":
        return ("path", f"/proc/{os.getpid()}/fd/{fd}")
    return ("fd", reduction.DupFd(fd))


def _open(handle: tuple) -> int:
    kind, value = handle
    if kind == "path":
        return os.open(value, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    return value.detach()


def reduce_tensor(t: Tensor) -> Any:
    """``t`` as a handle to its shared memory when it has one, else the default (a copy)."""
    found = shared.segment_of(t._data) if t.is_cpu and t.grad_fn is None else None
    if found is None:
        return t.__reduce_ex__(2)
    segment, offset = found
    array = t._data
    geometry = (segment.size, offset, array.shape, array.strides, array.dtype.str)
    return rebuild_tensor, (type(t), _handle(segment.fd), geometry, t.requires_grad)


def rebuild_tensor(cls: type, handle: tuple, geometry: tuple, requires_grad: bool) -> Tensor:
    """The tensor in the receiving process, mapping the sender's shared memory."""
    array = shared.attach(_open(handle), *geometry)
    if cls is Tensor:
        t = make(array)
        t._requires_grad = requires_grad
        return t
    return cls(make(array), requires_grad)


def register() -> None:
    from ember.nn.parameter import Parameter

    for cls in (Tensor, Parameter):
        reduction.ForkingPickler.register(cls, reduce_tensor)
