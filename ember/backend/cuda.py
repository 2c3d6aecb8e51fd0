"""The CUDA backend, on CuPy. Imported only when a CUDA device is asked for.

Everything here answers honestly when CuPy or a GPU is missing: ``is_available()`` is False
and moving a tensor raises an error that says what is missing.
"""

from __future__ import annotations

import contextlib
import weakref

from ember.backend import errors
from ember.backend.scatter import at_in_rounds
from ember.device import device

name = "cuda"
fake = False
_cupy = None
_import_error: Exception | None = None


def _load():
    global _cupy, _import_error
    if _cupy is None and _import_error is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
            from ember import backend

            backend.register_array_type(cupy.ndarray, cupy)
            _track_peak(cupy)
        except Exception as exc:  # ImportError, or CUDA driver errors when no GPU is present
            _import_error = exc
    return _cupy


def __getattr__(attr):
    if attr == "xp":
        return _require()
    raise AttributeError(f"module 'ember.backend.cuda' has no attribute {attr!r}")


def _require():
    cupy = _load()
    if cupy is None:
        raise RuntimeError(
            "CUDA is not available: ember's CUDA backend needs CuPy and an NVIDIA GPU "
            f"(pip install cupy-cuda12x). The import failed with: {_import_error!r}"
        )
    return cupy


def runtime_version() -> str | None:
    """The CUDA runtime version CuPy runs on, ``"major.minor"``, or None without CuPy and a GPU."""
    cupy = _load()
    if cupy is None:
        return None
    number = cupy.cuda.runtime.runtimeGetVersion()  # e.g. 12040
    return f"{number // 1000}.{number % 1000 // 10}"


def is_available() -> bool:
    cupy = _load()
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def device_count() -> int:
    return _load().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device() -> int:
    return _require().cuda.runtime.getDevice()


def set_device(index: int) -> None:
    _require().cuda.runtime.setDevice(index)


def device_of(array) -> device:
    return device("cuda", array.device.id)


def to_device(array, index: int | None):
    cupy = _require()
    errors.check_cuda_dtype(array.dtype)
    if not isinstance(array, cupy.ndarray) and is_capturing() and not is_pinned(array):
        # the copy would read host memory at capture time only; CUDA refuses it, say so first
        raise RuntimeError(
            "cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing "
            "(a host-to-device copy from pageable memory during CUDA graph capture)"
        )
    with cupy.cuda.Device(current_device() if index is None else index):
        return cupy.asarray(array)


def to_numpy(array):
    from ember import backend

    backend.refuse_host_read_in_capture(array, "a copy to the host")
    return array.get()


def synchronize(index: int | None = None) -> None:
    cupy = _require()
    if is_capturing():  # CUDA's own answer depends on the capture mode; ember's does not
        raise RuntimeError(
            "cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing "
            "(synchronize during CUDA graph capture)"
        )
    with cupy.cuda.Device(current_device() if index is None else index):
        cupy.cuda.runtime.deviceSynchronize()


def get_device_name(index: int | None = None) -> str:
    return get_device_properties(index)["name"]


def get_device_properties(index: int | None = None) -> dict:
    cupy = _require()
    index = current_device() if index is None else index
    props = dict(cupy.cuda.runtime.getDeviceProperties(index))
    name = props.get("name", b"")
    props["name"] = name.decode() if isinstance(name, bytes) else str(name)
    props["total_memory"] = props.get("totalGlobalMem", 0)
    props["multi_processor_count"] = props.get("multiProcessorCount", 0)
    return props


@contextlib.contextmanager
def device_guard(index: int | None):
    """Make ``index`` the current device inside the block."""
    cupy = _require()
    with cupy.cuda.Device(current_device() if index is None else index):
        yield


# -- kernels that differ between backends -------------------------------------------------------
_CUPYX_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def ufunc_at(ufunc_name: str, out, key, values) -> None:
    """``out[key] (op)= values`` unbuffered: ``ufunc.at`` where CuPy has it, else cupyx's scatter,
    else buffered updates in rounds (``ember.backend.scatter``)."""
    at = getattr(getattr(_require(), ufunc_name), "at", None)
    if at is not None:
        try:
            at(out, key, values)
            return
        except NotImplementedError:  # CuPy implements ufunc.at for only some ufuncs
            pass
    if ufunc_name not in _CUPYX_SCATTER:
        at_in_rounds(_require(), ufunc_name, out, key, values)
        return
    import cupyx

    getattr(cupyx, _CUPYX_SCATTER[ufunc_name])(out, key, values)


_NO_WARNINGS = contextlib.nullcontext()


def quiet_floating_point():
    """CuPy's kernels never warn on inf or NaN: nothing to switch off."""
    return _NO_WARNINGS


def special_functions():
    """``cupyx.scipy.special`` (compiled special functions), or None when missing."""
    try:
        return special_module()
    except ImportError:
        return None


def copy_rows(dst, src) -> None:
    dst[...] = src


def pin(array):
    """A copy of ``array`` in page-locked host memory (``cupyx.empty_pinned``)."""
    _require()
    import cupyx

    out = cupyx.empty_pinned(array.shape, array.dtype)
    out[...] = array
    return out


def is_pinned(array) -> bool:
    if _cupy is None or array.base is None:
        return False
    try:
        attrs = _cupy.cuda.runtime.pointerGetAttributes(array.ctypes.data)
    except _cupy.cuda.runtime.CUDARuntimeError:
        return False
    return getattr(attrs, "type", 0) == 1  # cudaMemoryTypeHost


def from_dlpack(obj):
    return _require().from_dlpack(obj)


def to_dlpack(array):
    return array.__dlpack__()


def set_allow_tf32(flag: bool) -> None:
    """Switch float32 matmuls (cuBLAS) to TF32 tensor cores, or back."""
    import os

    os.environ["CUPY_TF32"] = "1" if flag else "0"  # read by CuPy when it is first imported
    cupy = _load()
    if cupy is None:
        return
    import importlib

    try:
        linalg = importlib.import_module("cupy._core._routines_linalg")
    except ImportError:
        linalg = None
    setter = getattr(linalg, "set_compute_type", None)
    # CuPy's compute-type enum (cupy/_core/_routines_linalg.pxd): DEFAULT = 1, TF32 = 7
    tf32 = getattr(linalg, "COMPUTE_TYPE_TF32", 7)
    default = getattr(linalg, "COMPUTE_TYPE_DEFAULT", 1)
    if setter is None:
        raise RuntimeError(
            "allow_tf32: this CuPy version has no set_compute_type; set CUPY_TF32=1 "
            "in the environment before importing ember instead"
        )
    import numpy

    setter(numpy.dtype(numpy.float32), tf32 if flag else default)


def out_of_memory(exc: BaseException, op: str, request: str):
    """The ``ember.cuda.OutOfMemoryError`` for CuPy's out-of-memory error, or None."""
    if _cupy is None or not isinstance(exc, _cupy.cuda.memory.OutOfMemoryError):
        return None
    size = errors.requested_bytes(exc)
    free, total = mem_get_info()
    return errors.OutOfMemoryError.describe(
        op, f"{request}; {free:,} bytes free on the device", size, memory_stats(), total
    )


# -- memory statistics: CuPy's default memory pool ------------------------------------------------
_peak = {"allocated": 0, "reserved": 0}
_tracker = None


def _track_peak(cupy) -> None:
    """Count the pool's allocations as they happen, so that the peak is the true peak and not
    the largest value seen when someone asked. A CuPy memory hook, installed for the thread that
    loaded CUDA (CuPy's hooks are per thread); a hook costs about a microsecond an allocation."""
    global _tracker

    class _PeakTracker(cupy.cuda.MemoryHook):
        name = "ember_peak_tracker"

        def __init__(self) -> None:
            self.current = cupy.get_default_memory_pool().used_bytes()
            self.peak = self.current

        def malloc_postprocess(self, **info) -> None:
            self.current += info.get("mem_size", 0)
            if self.current > self.peak:
                self.peak = self.current

        def free_postprocess(self, **info) -> None:
            self.current -= info.get("mem_size", 0)

    try:
        _tracker = _PeakTracker()
        _tracker.__enter__()
    except Exception:  # an older CuPy without memory hooks: peaks are then sampled on queries
        _tracker = None


def _pool():
    return _require().get_default_memory_pool()


def memory_allocated(index: int | None = None) -> int:
    used = _pool().used_bytes() + sum(p.pool.used_bytes() for p in list(_graph_pools))
    _peak["allocated"] = max(_peak["allocated"], used)
    return used


def max_memory_allocated(index: int | None = None) -> int:
    tracked = _tracker.peak if _tracker is not None else 0
    return max(_peak["allocated"], tracked, memory_allocated(index))


def memory_reserved(index: int | None = None) -> int:
    total = _pool().total_bytes() + sum(p.pool.total_bytes() for p in list(_graph_pools))
    _peak["reserved"] = max(_peak["reserved"], total)
    return total


def max_memory_reserved(index: int | None = None) -> int:
    return max(_peak["reserved"], memory_reserved(index))


def reset_peak_memory_stats(index: int | None = None) -> None:
    _peak["allocated"] = memory_allocated(index)
    _peak["reserved"] = memory_reserved(index)
    if _tracker is not None:
        _tracker.current = _tracker.peak = _peak["allocated"]


def mem_get_info(index: int | None = None) -> tuple[int, int]:
    cupy = _require()
    with cupy.cuda.Device(current_device() if index is None else index):
        return cupy.cuda.runtime.memGetInfo()


def memory_stats(index: int | None = None) -> dict:
    return {
        "allocated_bytes.all.current": memory_allocated(index),
        "allocated_bytes.all.peak": max_memory_allocated(index),
        "reserved_bytes.all.current": memory_reserved(index),
        "reserved_bytes.all.peak": max_memory_reserved(index),
        "free_blocks": _pool().n_free_blocks(),
    }


def empty_cache() -> None:
    if _load() is not None:
        _cupy.get_default_memory_pool().free_all_blocks()


def sparse_module():
    """``cupyx.scipy.sparse``: the sparse-matrix kernels for CuPy arrays."""
    _require()
    import cupyx.scipy.sparse

    return cupyx.scipy.sparse


def special_module():
    """``cupyx.scipy.special``: special-function kernels for CuPy arrays."""
    _require()
    import cupyx.scipy.special

    return cupyx.scipy.special


# -- streams and events ---------------------------------------------------------------------------
def Stream(index: int | None = None, null: bool = False):
    cupy = _require()
    if null:
        return cupy.cuda.Stream.null
    with cupy.cuda.Device(current_device() if index is None else index):
        return cupy.cuda.Stream(non_blocking=True)


def Event(enable_timing: bool = False):
    return _require().cuda.Event(disable_timing=not enable_timing)


def elapsed_ms(start, end) -> float:
    return float(_require().cuda.get_elapsed_time(start, end))


def parallel_for(n: int, body, *, align: int = 1, min_elements: int = 0) -> None:
    """``body(0, n)``: no host thread pool (one kernel launch per pass already fills the GPU)."""
    body(0, n)


def parallel_elementwise(kernel, *operands, out=None, dtype=None, min_elements: int = 0):
    """``kernel(*operands, out=out)``: one kernel (the split is the CPU pool's)."""
    return kernel(*operands, out=out)


def chunk_elements(cache_sized: int) -> int:
    """Elements per pass of a chained elementwise computation: all of them (one kernel per pass;
    the CPU's cache-sized chunks would only multiply launches on a GPU)."""
    return 1 << 62


def cudnn_version() -> int | None:
    """The cuDNN version CuPy sees, or None without cuDNN."""
    try:
        from cupy.cuda import cudnn as cupy_cudnn

        return int(cupy_cudnn.getVersion())
    except (ImportError, RuntimeError, AttributeError):
        return None


def address(array) -> int:
    """The device address of an array's first element."""
    return array.data.ptr


# -- CUDA graphs: CuPy stream capture into a private memory pool ---------------------------------
class _GraphPool:
    """A private CuPy memory pool for graph captures (``torch.cuda.graph_pool_handle``).

    Allocations made during a capture must come from memory that no allocation outside the graph
    gets afterwards (a replay writes to those addresses), so captures allocate from a pool of
    their own, kept alive by every graph captured into it; blocks freed during one capture may be
    reused by a later capture into the same pool, which is safe when the graphs replay in the
    order they were captured (PyTorch's rule for shared pools)."""

    def __init__(self, cupy) -> None:
        self.pool = cupy.cuda.MemoryPool()
        self._allocator = None

    def enter(self, cupy) -> None:
        self._allocator = cupy.cuda.using_allocator(self.pool.malloc)
        self._allocator.__enter__()  # thread-local: other threads keep the default pool

    def leave(self) -> None:
        if self._allocator is not None:
            self._allocator.__exit__(None, None, None)
            self._allocator = None


_capture = {"pool": None, "stream": None}
_graph_pools: weakref.WeakSet = weakref.WeakSet()  # counted in the memory statistics


def graph_pool():
    pool = _GraphPool(_require())
    _graph_pools.add(pool)
    return pool


def capture_begin(stream, pool) -> None:
    """Start capturing the work issued on ``stream`` (a CuPy stream, not the null stream)."""
    cupy = _require()
    pool.enter(cupy)
    try:
        stream.begin_capture()
    except Exception:
        pool.leave()
        raise
    _capture.update(pool=pool, stream=stream)


def capture_end(stream):
    """Stop capturing; return the instantiated ``cupy.cuda.Graph``."""
    pool = _capture["pool"]
    _capture.update(pool=None, stream=None)
    try:
        return stream.end_capture()
    finally:
        if pool is not None:
            pool.leave()


def capture_abort(stream) -> None:
    """End a capture that failed, discarding the graph (the error that ended it is reported)."""
    if _capture["stream"] is None:
        return
    with contextlib.suppress(Exception):
        capture_end(stream)


def replay(graph, stream) -> None:
    graph.launch(stream)


def is_capturing() -> bool:
    cupy = _load()
    if cupy is None:
        return False
    try:
        return bool(cupy.cuda.get_current_stream().is_capturing())
    except Exception:  # noqa: BLE001 - a CuPy without capture support cannot be capturing
        return False


def pool_bytes(pool) -> int:
    return int(pool.pool.used_bytes())
