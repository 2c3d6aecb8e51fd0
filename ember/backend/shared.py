"""CPU arrays in memory that other processes see: what ``Tensor.share_memory_()`` moves data into.

A shared array lives in an anonymous shared-memory file (``memfd_create`` on Linux, an unlinked
temporary file elsewhere) mapped ``MAP_SHARED``. Processes forked afterwards inherit the
mapping; other processes map the same file from a file descriptor (``segment_fd``) that
``ember.multiprocessing`` sends them, so every process writes the same physical memory
(Hogwild training). The file has no name and goes away when the last process that maps it
closes it: nothing leaks in ``/dev/shm``.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import weakref

import numpy as np

__all__ = ["attach", "is_shared", "segment_of", "share"]


class Segment:
    """One shared mapping and the descriptor of the file behind it (closed with the mapping)."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        _SEGMENTS[id(self.map)] = self
        weakref.finalize(self.map, _release, id(self.map), fd)


_SEGMENTS: dict[int, Segment] = {}


def _release(key: int, fd: int) -> None:
    _SEGMENTS.pop(key, None)
    try:
        os.close(fd)
    except OSError:
        pass


def _new_file(size: int) -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ember-shared", os.MFD_CLOEXEC)
    else:
        with tempfile.TemporaryFile(prefix="ember-shared-") as f:
            fd = os.dup(f.fileno())
    os.ftruncate(fd, size)
    return fd


def share(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` (same shape, dtype and values, C order) in a new shared segment.

    >>> a = share(np.arange(3.0))
    >>> is_shared(a), a.tolist()
    (True, [0.0, 1.0, 2.0])
    """
    size = max(array.nbytes, 1)  # mmap cannot map zero bytes
    segment = Segment(_new_file(size), size)
    out = np.ndarray(array.shape, array.dtype, buffer=segment.map)
    out[...] = array
    return out


def segment_of(array: np.ndarray) -> tuple[Segment, int] | None:
    """The segment holding ``array`` and the array's byte offset in it, or None if not shared."""
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    segment = _SEGMENTS.get(id(base)) if isinstance(base, mmap.mmap) else None
    if segment is None:
        return None
    start = np.frombuffer(segment.map, np.uint8).__array_interface__["data"][0]
    return segment, array.__array_interface__["data"][0] - start


def is_shared(array: np.ndarray) -> bool:
    """Whether ``array`` lives in shared memory made by ``share`` or ``attach``."""
    return isinstance(array, np.ndarray) and segment_of(array) is not None


def attach(fd: int, size: int, offset: int, shape: tuple, strides: tuple, dtype: str) -> np.ndarray:
    """The array at ``offset`` in the shared file ``fd`` (which the segment now owns)."""
    segment = Segment(fd, size)
    return np.ndarray(shape, np.dtype(dtype), buffer=segment.map, offset=offset, strides=strides)
