"""The CUDA stand-in backend: "cuda" tensors in NumPy memory that behaves like CuPy's. Tests only.

Loaded instead of ``ember.backend.cuda`` only when ``EMBER_FAKE_CUDA=1`` is in the environment
before ember is imported; it never turns on by itself. ``EMBER_FAKE_CUDA_DEVICES=N`` sets the
number of devices (default 1), ``EMBER_FAKE_CUDA_MEMORY`` the bytes each "device" holds (default
16 GiB; past it allocations raise ``ember.cuda.OutOfMemoryError``). It offers the same surface as
``ember.backend.cuda``; streams and events are recorded, not timed by a device (NumPy work is done
when a call returns, so waiting is instant and elapsed times are wall-clock).
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref

import numpy as np

from ember.backend import errors, fake_graph
from ember.backend.fake_array import (
    FakeCudaArray,
    FakeDLPackCapsule,
    FakeOutOfMemoryError,
    Namespace,
    _root,
    make_array,
    memory,
    run,
    wrap,
    xp,
)
from ember.backend.fake_array import _unwrap_key as unwrap_key
from ember.backend.fake_array import current_device as _current
from ember.backend.scatter import at_in_rounds
from ember.device import device

__all__ = ["FakeCudaArray", "xp"]

name = "cuda"
fake = True
_COUNT = int(os.environ.get("EMBER_FAKE_CUDA_DEVICES", "1"))
settings = {"allow_tf32": False}


def is_available() -> bool:
    return _COUNT > 0


def device_count() -> int:
    return _COUNT


def current_device() -> int:
    return _current[0]


def set_device(index: int) -> None:
    if not 0 <= index < _COUNT:
        raise RuntimeError(f"CUDA error: invalid device ordinal {index} (the stand-in has {_COUNT})")
    _current[0] = index


@contextlib.contextmanager
def device_guard(index: int | None):
    """Make ``index`` the current device inside the block (``cupy.cuda.Device``)."""
    previous = _current[0]
    set_device(previous if index is None else index)
    try:
        yield
    finally:
        _current[0] = previous


def device_of(array) -> device:
    return device("cuda", array._dev)


def to_device(array, index: int | None):
    """Host or device array -> a device array on ``index`` (a copy, as a transfer is)."""
    target = _current[0] if index is None else index
    if not 0 <= target < _COUNT:
        raise RuntimeError(f"CUDA error: invalid device ordinal {target} (the stand-in has {_COUNT})")
    host = array._a if type(array) is FakeCudaArray else np.asarray(array)
    errors.check_cuda_dtype(host.dtype)
    if fake_graph.is_capturing():
        return _copy_captured(array, host, target)
    return make_array(np.array(host, copy=True), target)


def _copy_captured(array, host: np.ndarray, target: int):
    """A copy inside a capture: recorded, so a replay copies again from the same memory."""
    if type(array) is not FakeCudaArray and not is_pinned(host):
        fake_graph.refuse("a host-to-device copy from pageable memory")
    return run(lambda: np.array(host, copy=True), (), {}, target)


def to_numpy(array) -> np.ndarray:
    return array.get()


def synchronize(index: int | None = None) -> None:
    """NumPy's work is finished when each call returns: nothing to wait for."""
    fake_graph.refuse("synchronize")


def get_device_name(index: int | None = None) -> str:
    return "ember CUDA stand-in (NumPy memory)"


def get_device_properties(index: int | None = None) -> dict:
    return {
        "name": get_device_name(index),
        "major": 8,
        "minor": 0,
        "total_memory": memory.limit,
        "multi_processor_count": 1,
    }


# -- kernels that differ between backends -------------------------------------------------------
_SCATTER = frozenset({"add", "maximum", "minimum"})  # what cupyx.scatter_* offers


def ufunc_at(ufunc_name: str, out, key, values) -> None:
    """``out[key] (op)= values`` unbuffered, choosing as the CUDA backend does: ``ufunc.at`` where
    CuPy has it, else cupyx's scatter (here: NumPy's ``ufunc.at`` on the memory inside), else
    buffered updates in rounds (``ember.backend.scatter``)."""
    try:
        getattr(xp, ufunc_name).at(out, key, values)
        return
    except NotImplementedError:
        pass
    if ufunc_name not in _SCATTER:
        at_in_rounds(xp, ufunc_name, out, key, values)
        return
    dev = out._dev
    at = getattr(np, ufunc_name).at
    run(at, (out._a, unwrap_key(key, dev), values._a if type(values) is FakeCudaArray else values), {}, dev)


def special_module():
    """SciPy's special functions over device arrays (ImportError naming the extra without it)."""
    from ember.backend import cpu

    return Namespace("ember_fake_cupyx.scipy.special", cpu.special_module())


def quiet_floating_point():
    """The stand-in computes with NumPy: its warnings go off as on the CPU."""
    return np.errstate(all="ignore")


def special_functions():
    """``special_module()``, or None when SciPy is missing."""
    try:
        return special_module()
    except ImportError:
        return None


def copy_rows(dst, src) -> None:
    dst[...] = src


_pinned: set[int] = set()


def pin(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` in "page-locked" host memory: on the stand-in, a flag on a fresh copy."""
    out = np.array(array, copy=True)
    key = id(out)
    _pinned.add(key)
    weakref.finalize(out, _pinned.discard, key)
    return out


def is_pinned(array) -> bool:
    return isinstance(array, np.ndarray) and id(_root(array)) in _pinned


def from_dlpack(obj):
    return xp.from_dlpack(obj)


def to_dlpack(array) -> FakeDLPackCapsule:
    return array.__dlpack__()


def set_allow_tf32(flag: bool) -> None:
    settings["allow_tf32"] = bool(flag)


def out_of_memory(exc: BaseException, op: str, request: str):
    """The ``ember.cuda.OutOfMemoryError`` for a stand-in allocation failure, or None."""
    if not isinstance(exc, FakeOutOfMemoryError):
        return None
    return errors.OutOfMemoryError.describe(
        op, request, errors.requested_bytes(exc), memory_stats(), memory.limit
    )


# -- memory statistics: bytes held by live FakeCudaArrays ----------------------------------------
def memory_allocated(index: int | None = None) -> int:
    return memory.allocated


def max_memory_allocated(index: int | None = None) -> int:
    return memory.peak


def memory_reserved(index: int | None = None) -> int:
    return max(memory.reserved, memory.allocated)


def max_memory_reserved(index: int | None = None) -> int:
    return memory.peak_reserved


def reset_peak_memory_stats(index: int | None = None) -> None:
    memory.peak = memory.allocated
    memory.peak_reserved = memory_reserved()


def empty_cache() -> None:
    memory.reserved = memory.allocated


def mem_get_info(index: int | None = None) -> tuple[int, int]:
    return memory.limit - memory_reserved(), memory.limit


def memory_stats(index: int | None = None) -> dict:
    return {
        "allocated_bytes.all.current": memory.allocated,
        "allocated_bytes.all.peak": memory.peak,
        "reserved_bytes.all.current": memory_reserved(),
        "reserved_bytes.all.peak": memory.peak_reserved,
        "num_alloc_retries": 0,
        "num_ooms": 0,
        "allocation.all.allocated": memory.allocations,
        "allocation.all.freed": memory.frees,
    }


# -- streams and events ---------------------------------------------------------------------------
class Stream:
    """A stream: work on the stand-in is done when issued, so a stream is only bookkeeping."""

    def __init__(self, index: int | None = None, null: bool = False) -> None:
        self.device_index = _current[0] if index is None else index
        self.null = null

    def synchronize(self) -> None:
        fake_graph.refuse("Stream.synchronize")

    def query(self) -> bool:
        fake_graph.refuse("Stream.query")
        return True

    def record(self, event):
        event.record(self)
        return event

    def wait_event(self, event) -> None:
        pass


class Event:
    """An event: records the wall-clock time at ``record``."""

    def __init__(self, enable_timing: bool = False) -> None:
        self.enable_timing = enable_timing
        self.time: float | None = None

    def record(self, stream=None) -> None:
        self.time = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True


def elapsed_ms(start: Event, end: Event) -> float:
    """Milliseconds between two recorded events (wall-clock on the stand-in)."""
    return (end.time - start.time) * 1e3


def wrap_result(value, index: int = 0):
    """Wrap NumPy results as device arrays (a helper for tests)."""
    return wrap(value, index)


def parallel_for(n: int, body, *, align: int = 1, min_elements: int = 0) -> None:
    """``body(0, n)``: no host thread pool (as on a GPU, so the stand-in runs the CUDA path)."""
    body(0, n)


def parallel_elementwise(kernel, *operands, out=None, dtype=None, min_elements: int = 0):
    """``kernel(*operands, out=out)``: one kernel (the split is the CPU pool's)."""
    return kernel(*operands, out=out)


def chunk_elements(cache_sized: int) -> int:
    """All elements in one pass, as on a GPU (so the stand-in runs the CUDA path)."""
    return 1 << 62


def cudnn_version() -> None:
    """The stand-in has no cuDNN."""
    return None


def address(array) -> int:
    """The address of a stand-in array's first element (its NumPy memory, never exposed)."""
    return array._a.__array_interface__["data"][0]


# -- CUDA graphs: a tape of the captured operations (``ember.backend.fake_graph``) ---------------
def graph_pool():
    """A new private memory pool for graphs (``torch.cuda.graph_pool_handle``)."""
    return fake_graph.FakePool()


def capture_begin(stream, pool) -> None:
    """Start capturing the device work issued from now on into a graph using ``pool``."""
    fake_graph.begin(pool)


def capture_end(stream):
    """Stop capturing; return the graph (raises CUDA's error when the capture was invalidated)."""
    return fake_graph.end()


def capture_abort(stream) -> None:
    """End a capture that failed, discarding it (the error that ended it is what the user sees)."""
    if fake_graph.is_capturing():
        with contextlib.suppress(fake_graph.CaptureError):
            fake_graph.end()


def replay(graph, stream) -> None:
    graph.launch(stream)


def is_capturing() -> bool:
    return fake_graph.is_capturing()


def pool_bytes(pool) -> int:
    return pool.used_bytes()
