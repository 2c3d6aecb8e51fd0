"""``ember.cuda``: the CUDA device, answered honestly when there is none.

Everything here works without CuPy or a GPU: ``is_available()`` is False, ``device_count()`` is 0,
the memory statistics are 0, and calls that need a GPU raise an error saying what is missing.
Under the test-only stand-in (``EMBER_FAKE_CUDA=1``) the answers come from
``ember.backend.fake_cuda`` (memory statistics count the bytes of live device arrays).
"""

from __future__ import annotations

from ember import backend
from ember.backend.errors import OutOfMemoryError
from ember.cuda.graphs import (
    CUDAGraph,
    graph,
    graph_pool_handle,
    is_current_stream_capturing,
    make_graphed_callables,
    make_graphed_step,
)
from ember.cuda.streams import Event, Stream, current_stream, default_stream, stream
from ember.device import as_device

__all__ = [
    "CUDAGraph",
    "Event",
    "OutOfMemoryError",
    "Stream",
    "current_device",
    "current_stream",
    "default_stream",
    "device",
    "device_count",
    "empty_cache",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "graph",
    "graph_pool_handle",
    "init",
    "initial_seed",
    "is_available",
    "is_bf16_supported",
    "is_current_stream_capturing",
    "is_initialized",
    "make_graphed_callables",
    "make_graphed_step",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_peak_memory_stats",
    "seed",
    "set_device",
    "stream",
    "synchronize",
]


def _cuda():
    return backend.get("cuda")


def _need(what: str):
    cuda = _cuda()
    if not cuda.is_available():
        raise RuntimeError(
            f"ember.cuda.{what}: no CUDA device is available (ember's CUDA backend needs CuPy and "
            "an NVIDIA GPU: pip install cupy-cuda12x)"
        )
    return cuda


def _index(device) -> int | None:
    """A device index from an int, a string ('cuda:1') or a device; None for the current one."""
    if device is None:
        return None
    if isinstance(device, int):
        return device
    d = as_device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return d.index


def is_available() -> bool:
    """True when CuPy is installed and sees at least one NVIDIA GPU."""
    return _cuda().is_available()


def is_initialized() -> bool:
    return is_available()


def init() -> None:
    _need("init")


def device_count() -> int:
    return _cuda().device_count() if is_available() else 0


def current_device() -> int:
    return _need("current_device").current_device()


def set_device(device) -> None:
    index = _index(device)
    _need("set_device").set_device(0 if index is None else index)


class device:
    """Context manager that makes a CUDA device current (``torch.cuda.device``)."""

    def __init__(self, device) -> None:
        self.index = _index(device)
        self._prev = None

    def __enter__(self):
        if self.index is not None:
            self._prev = current_device()
            set_device(self.index)

    def __exit__(self, *exc) -> None:
        if self._prev is not None:
            set_device(self._prev)


def synchronize(device=None) -> None:
    """Wait for all work on a device to finish."""
    _need("synchronize").synchronize(_index(device))


def get_device_name(device=None) -> str:
    return _need("get_device_name").get_device_name(_index(device))


class _DeviceProperties:
    def __init__(self, props: dict) -> None:
        self.name = props["name"]
        self.major, self.minor = int(props.get("major", 0)), int(props.get("minor", 0))
        self.total_memory = int(props.get("total_memory", 0))
        self.multi_processor_count = int(props.get("multi_processor_count", 0))

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // (1 << 20)}MB, "
            f"multi_processor_count={self.multi_processor_count})"
        )


def get_device_properties(device=None) -> _DeviceProperties:
    return _DeviceProperties(_need("get_device_properties").get_device_properties(_index(device)))


def get_device_capability(device=None) -> tuple[int, int]:
    props = get_device_properties(device)
    return props.major, props.minor


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: CuPy has no bfloat16 dtype, so ember cannot compute in bfloat16 on CUDA."""
    return False


# -- random numbers: ember draws on its generator and moves the result, so one seed serves both --
def manual_seed(seed: int) -> None:
    """Seed the random numbers of CUDA tensors (ember draws them from its one generator)."""
    from ember.random import manual_seed as seed_all

    seed_all(seed)


manual_seed_all = manual_seed


def seed() -> None:
    from ember import random

    random.seed()


seed_all = seed


def initial_seed() -> int:
    from ember import random

    return random.initial_seed()


# -- memory ----------------------------------------------------------------------------------------
def memory_allocated(device=None) -> int:
    """Bytes held by live CUDA tensors (0 without a GPU)."""
    return _cuda().memory_allocated(_index(device)) if is_available() else 0


def max_memory_allocated(device=None) -> int:
    return _cuda().max_memory_allocated(_index(device)) if is_available() else 0


def memory_reserved(device=None) -> int:
    """Bytes held by the memory pool: live tensors plus freed blocks kept for reuse."""
    return _cuda().memory_reserved(_index(device)) if is_available() else 0


def max_memory_reserved(device=None) -> int:
    return _cuda().max_memory_reserved(_index(device)) if is_available() else 0


def reset_peak_memory_stats(device=None) -> None:
    if is_available():
        _cuda().reset_peak_memory_stats(_index(device))


def memory_stats(device=None) -> dict:
    return _cuda().memory_stats(_index(device)) if is_available() else {}


def mem_get_info(device=None) -> tuple[int, int]:
    """(free, total) bytes of device memory."""
    return _need("mem_get_info").mem_get_info(_index(device))


def empty_cache() -> None:
    """Give the pool's freed blocks back to the device."""
    if is_available():
        _cuda().empty_cache()


def __getattr__(name: str):
    if name == "amp":
        import importlib

        return importlib.import_module("ember.cuda.amp")
    if name == "default_generators":
        return extras.default_generators
    raise AttributeError(f"module 'ember.cuda' has no attribute {name!r}")


def _legacy_types() -> None:
    """``ember.cuda.FloatTensor`` and friends (constructing one without a GPU raises)."""
    from ember.typed_tensors import CUDA_TYPES  # typed_tensors imports ember.cuda lazily: no cycle

    globals().update(CUDA_TYPES)
    __all__.extend(CUDA_TYPES)


_legacy_types()

from ember.cuda import extras  # noqa: E402 - after the functions it calls back into
from ember.cuda.extras import (  # noqa: E402
    StreamContext,
    device_of,
    get_arch_list,
    get_rng_state,
    get_rng_state_all,
    has_half,
    is_tf32_supported,
    max_memory_cached,
    memory_cached,
    memory_stats_as_nested_dict,
    memory_summary,
    reset_accumulated_memory_stats,
    reset_max_memory_allocated,
    reset_max_memory_cached,
    set_rng_state,
    set_rng_state_all,
    set_stream,
)

__all__ += [
    "StreamContext",
    "device_of",
    "get_arch_list",
    "get_rng_state",
    "get_rng_state_all",
    "has_half",
    "is_tf32_supported",
    "max_memory_cached",
    "memory_cached",
    "memory_stats_as_nested_dict",
    "memory_summary",
    "reset_accumulated_memory_stats",
    "reset_max_memory_allocated",
    "reset_max_memory_cached",
    "set_rng_state",
    "set_rng_state_all",
    "set_stream",
]
