"""CUDA graph capture on the stand-in: a tape of array operations, replayed on the same buffers.

While a capture is open (``begin``), every device-array operation of ``ember.backend.fake_array``
(array-module calls, operators, in-place operators, ``__setitem__``, array methods) is executed
and also appended to the tape as ``(fn, args, kwargs, fresh outputs)``. Replaying the tape calls
each ``fn`` again on the very same NumPy buffers and copies its results into the very same output
buffers, which is what a CUDA graph does: same kernels, same addresses, new data.

Like a real capture, the captured work must not have happened afterwards: buffers that existed
before the capture and were touched by it are put back as they were when the capture ends, and
buffers allocated during the capture are filled with NaN (or the dtype's largest value) until the
first replay, so code that reads a captured result before replaying fails loudly here as it would
give garbage on a GPU. What a real capture refuses (copies to the host, copies from pageable host
memory, synchronisation) raises CUDA's error, and invalidates the capture as CUDA does.
"""

from __future__ import annotations

import numpy as np

from ember.backend import fake_array
from ember.dtypes import is_inexact_np

__all__ = ["CaptureError", "FakeGraph", "FakePool", "begin", "end", "is_capturing", "refuse"]

NOT_PERMITTED = "cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing"
INVALIDATED = "cudaErrorStreamCaptureInvalidated: operation failed due to a previous error during capture"


class CaptureError(RuntimeError):
    """The stand-in's ``cupy.cuda.runtime.CUDARuntimeError`` for capture violations."""


class FakePool:
    """A graph's private memory pool: it keeps alive every buffer allocated during its captures,
    so no allocation outside the graph can ever get that memory."""

    def __init__(self) -> None:
        self.buffers: dict[int, np.ndarray] = {}

    def used_bytes(self) -> int:
        return sum(b.nbytes for b in self.buffers.values())


class _Tape:
    def __init__(self, pool: FakePool) -> None:
        self.pool = pool
        self.entries: list[tuple] = []
        self.own: set[int] = set()
        self.before: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.invalid: str | None = None

    def allocated(self, root: np.ndarray) -> None:
        if id(root) not in fake_array.memory.live:
            self.pool.buffers[id(root)] = root
            self.own.add(id(root))

    def touch(self, arrays: list[np.ndarray]) -> None:
        """Remember the pre-capture contents of the outside buffers an operation may write."""
        for a in arrays:
            root = fake_array._root(a)
            key = id(root)
            if key not in self.own and key not in self.before and root.flags.writeable:
                self.before[key] = (root, root.copy())

    def record(self, fn, args, kwargs, wrapped, inputs: list[np.ndarray]) -> None:
        """Append ``fn(*args, **kwargs)``; ``wrapped`` is its result as the caller got it."""
        roots = {id(fake_array._root(a)) for a in inputs}
        outputs = [
            (i, leaf._a)
            for i, leaf in enumerate(_leaves(wrapped))
            if type(leaf) is fake_array.FakeCudaArray
            and id(fake_array._root(leaf._a)) not in roots
            and leaf._a.flags.writeable
        ]
        self.entries.append((fn, args, kwargs, outputs))


_active: list[_Tape | None] = [None]


def is_capturing() -> bool:
    return _active[0] is not None


def refuse(what: str) -> None:
    """Raise CUDA's capture error for ``what`` (and invalidate the capture) while capturing."""
    tape = _active[0]
    if tape is not None:
        tape.invalid = tape.invalid or what
        raise CaptureError(f"{NOT_PERMITTED} ({what} during CUDA graph capture)")


def begin(pool: FakePool) -> None:
    if _active[0] is not None:
        raise CaptureError(
            "cudaErrorIllegalState: a CUDA graph capture is already underway (captures do not nest)"
        )
    _active[0] = _Tape(pool)
    fake_array.capturing[0] = _active[0]


def end() -> FakeGraph:
    """Close the capture: undo its effects on outside buffers and return the replayable graph."""
    tape = _active[0]
    if tape is None:
        raise CaptureError("cudaErrorIllegalState: capture_end without capture_begin")
    _active[0] = fake_array.capturing[0] = None
    for root, saved in tape.before.values():
        np.copyto(root, saved)
    for key in tape.own:
        _poison(tape.pool.buffers.get(key))
    if tape.invalid is not None:
        raise CaptureError(f"{INVALIDATED} (the capture refused {tape.invalid})")
    return FakeGraph(tape.entries)


def _poison(buffer: np.ndarray | None) -> None:
    if buffer is None or not buffer.flags.writeable:
        return
    kind = buffer.dtype.kind
    if is_inexact_np(buffer.dtype):
        buffer.fill(np.nan)
    elif kind in "iu":
        buffer.fill(np.iinfo(buffer.dtype).max)


class FakeGraph:
    """A captured tape: ``launch()`` re-runs each operation on the buffers it was captured with."""

    def __init__(self, entries: list[tuple]) -> None:
        self.entries = entries

    def launch(self, stream=None) -> None:
        if _active[0] is not None:
            refuse("launching a graph")
        for fn, args, kwargs, outputs in self.entries:
            result = fn(*args, **kwargs)
            if outputs:
                leaves = _leaves(result)
                for i, out in outputs:
                    np.copyto(out, leaves[i])

    def __len__(self) -> int:
        return len(self.entries)


def _leaves(value) -> list:
    """The leaves of a (nested) tuple or list result, in order (the same for a raw NumPy result
    and for its wrapped form, since wrapping keeps the structure)."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]
