"""The rest of ``torch.cuda``'s everyday surface: RNG state, the deprecated memory names, a
memory summary, and small device probes. Like the rest of ``ember.cuda`` they answer honestly
without a GPU (an empty list, zeros, False) and raise the no-GPU error where PyTorch needs one.

ember draws CUDA random numbers from its one generator and moves them to the device (see
``ember.cuda.manual_seed``), so a device's RNG state *is* that generator's state: saving it
with ``get_rng_state_all()`` and restoring it with ``set_rng_state_all()`` resumes exactly.
"""

from __future__ import annotations

from ember import random
from ember.cuda import streams


def _cuda():
    import ember.cuda as cuda  # the package imports this module last: no cycle at import time

    return cuda


# -- random numbers ------------------------------------------------------------------------------
def get_rng_state(device="cuda"):
    """The generator state behind a CUDA device's random numbers (a uint8 tensor)."""
    _cuda()._need("get_rng_state")
    return random.get_rng_state()


def set_rng_state(new_state, device="cuda") -> None:
    _cuda()._need("set_rng_state")
    random.set_rng_state(new_state)


def get_rng_state_all() -> list:
    """One state per device: an empty list without a GPU, as in PyTorch."""
    return [get_rng_state(i) for i in range(_cuda().device_count())]


def set_rng_state_all(new_states) -> None:
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def __getattr__(name: str):
    if name == "default_generators":  # per device; the same generator serves every device
        return (random.default_generator,) * _cuda().device_count()
    raise AttributeError(f"module 'ember.cuda.extras' has no attribute {name!r}")


# -- memory: PyTorch's deprecated names, and a readable summary ---------------------------------
def memory_cached(device=None) -> int:
    """Deprecated name of ``memory_reserved``."""
    return _cuda().memory_reserved(device)


def max_memory_cached(device=None) -> int:
    """Deprecated name of ``max_memory_reserved``."""
    return _cuda().max_memory_reserved(device)


def reset_max_memory_allocated(device=None) -> None:
    """Deprecated: resets every peak, as ``reset_peak_memory_stats`` (so does PyTorch)."""
    _cuda().reset_peak_memory_stats(device)


reset_max_memory_cached = reset_max_memory_allocated


def reset_accumulated_memory_stats(device=None) -> None:
    """Nothing to reset: ember's statistics hold no accumulated counters beyond the peaks."""


def memory_stats_as_nested_dict(device=None) -> dict:
    """``memory_stats`` with its dotted keys split into nested dicts."""
    nested: dict = {}
    for key, value in _cuda().memory_stats(device).items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A short table of the memory statistics (``print(ember.cuda.memory_summary())``)."""
    cuda = _cuda()
    if not cuda.is_available():
        return "ember.cuda.memory_summary: no CUDA device is available (0 bytes in use)\n"
    stats = cuda.memory_stats(device)
    rows = [f"  {key:<36} {value:>16,}" for key, value in sorted(stats.items())]
    title = f"ember CUDA memory summary, device {cuda.current_device() if device is None else device}"
    return "\n".join([title, "-" * len(title), *rows]) + "\n"


# -- probes ----------------------------------------------------------------------------------
has_half = True  # float16 tensors work wherever a GPU does


def is_tf32_supported() -> bool:
    """Whether the current GPU has TF32 tensor cores (compute capability 8.0 or newer)."""
    cuda = _cuda()
    return cuda.is_available() and cuda.get_device_capability()[0] >= 8


def get_arch_list() -> list:
    """The architectures of the visible GPUs (``sm_90``, ...); empty without one."""
    cuda = _cuda()
    capabilities = {cuda.get_device_capability(i) for i in range(cuda.device_count())}
    return [f"sm_{major}{minor}" for major, minor in sorted(capabilities)]


class device_of:
    """Context manager: the device of a tensor becomes current (no change for a CPU tensor)."""

    def __init__(self, obj) -> None:
        index = obj.get_device() if getattr(obj, "is_cuda", False) else -1
        self._device = _cuda().device(index if index >= 0 else None)

    def __enter__(self):
        return self._device.__enter__()

    def __exit__(self, *exc) -> None:
        self._device.__exit__(*exc)


StreamContext = streams.stream


def set_stream(stream) -> None:
    """Make ``stream`` current for the rest of the thread's work (None: no change)."""
    if stream is None:
        return
    streams.make_current(stream)
