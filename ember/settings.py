"""Process-wide switches PyTorch exposes at the top level, answered honestly.

- ``set_default_device``: factories without ``device=`` allocate there ('cuda' without a GPU
  raises the no-GPU error).
- ``set_num_threads``: sizes ember's intra-op pool (``ember.backend.threads``, which splits large
  element-wise kernels) and, when threadpoolctl happens to be installed, BLAS's pool too.
- ``set_float32_matmul_precision``, ``use_deterministic_algorithms``: recorded; ember's CPU
  kernels are deterministic and compute float32 matmuls in full precision whatever is set.
- ``set_flush_denormal``: NumPy cannot flush denormals, so it returns False, as PyTorch does on
  hardware without the feature.
"""

from __future__ import annotations

import os
import warnings

from ember.backend import flags, threads
from ember.backend.errors import OutOfMemoryError  # torch.OutOfMemoryError: the one class

__all__ = [
    "OutOfMemoryError",
    "are_deterministic_algorithms_enabled",
    "get_default_device",
    "get_deterministic_debug_mode",
    "get_device",
    "get_device_module",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "get_num_threads",
    "init_num_threads",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_storage",
    "is_warn_always_enabled",
    "set_default_device",
    "set_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "set_flush_denormal",
    "set_num_interop_threads",
    "set_num_threads",
    "set_warn_always",
    "use_deterministic_algorithms",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "set_anomaly_enabled",
]

# what this build offers, in PyTorch's words (NumPy brings LAPACK and an FFT, not MKL or OpenMP)
has_lapack, has_spectral, has_mkl, has_openmp = True, True, False, False


class AcceleratorError(RuntimeError):
    """An accelerator reported an error (``torch.AcceleratorError``)."""


_state = {
    "device": None,
    "interop_threads": os.cpu_count() or 1,
    "matmul_precision": "highest",
    "deterministic": False,
    "warn_only": False,
    "warn_always": False,
}


def set_default_device(device) -> None:
    """Allocate tensors on ``device`` when a factory is given none (None resets to the CPU)."""
    from ember.device import as_device

    if device is None:
        _state["device"] = None
        return
    dev = as_device(device)
    if dev.type == "cuda":
        from ember.typed_tensors import require_cuda

        require_cuda("set_default_device")
    _state["device"] = None if dev.type == "cpu" else dev


def get_default_device():
    """The device factories use when given none."""
    from ember.device import device

    return _state["device"] or device("cpu")


def default_device_or_none():
    """The default device if it is not the CPU, else None (what factories consult)."""
    return _state["device"]


def set_num_threads(num: int) -> None:
    """Use ``num`` threads for intra-op parallelism: ember's pool for element-wise kernels, and
    BLAS's pool when threadpoolctl is installed (without it BLAS keeps its own count)."""
    if int(num) <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {num}")
    threads.set_num_threads(int(num))
    try:
        import threadpoolctl  # optional: only to resize BLAS's pool as well
    except ImportError:
        return
    threadpoolctl.threadpool_limits(int(num), user_api="blas")


def get_num_threads() -> int:
    """The number of threads ember's element-wise kernels are split across."""
    return threads.get_num_threads()


def set_num_interop_threads(num: int) -> None:
    if int(num) <= 0:
        raise RuntimeError(f"set_num_interop_threads expects a positive integer, got {num}")
    _state["interop_threads"] = int(num)


def get_num_interop_threads() -> int:
    return _state["interop_threads"]


def init_num_threads() -> None:
    """Nothing to initialise: the pool starts its threads on first use."""


def set_float32_matmul_precision(precision: str) -> None:
    """'highest' keeps float32 matmuls exact; 'high' or 'medium' let CUDA use TF32 tensor cores
    (``ember.backends.cuda.matmul.allow_tf32``, which this sets). The CPU always computes in
    full float32."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision!r}: expected 'highest', 'high' or 'medium'")
    _state["matmul_precision"] = precision
    flags.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    """The precision last set, or what ``allow_tf32`` set since ('high' when TF32 is on)."""
    if flags.matmul.allow_tf32:
        return "high" if _state["matmul_precision"] == "highest" else _state["matmul_precision"]
    return "highest"


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the flag; ember's CPU kernels are deterministic already."""
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/'default', 1/'warn' or 2/'error', as in PyTorch."""
    names = {"default": 0, "warn": 1, "error": 2}
    level = names.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else int(debug_mode)
    if level not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected one of 0, 1, 2 but got {debug_mode}")
    use_deterministic_algorithms(level > 0, warn_only=level == 1)


def get_deterministic_debug_mode() -> int:
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


def set_warn_always(b: bool) -> None:
    """Warn every time instead of once (for ember's once-only warnings too)."""
    _state["warn_always"] = bool(b)
    if b:
        warnings.simplefilter("always")


def is_warn_always_enabled() -> bool:
    return _state["warn_always"]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (``ember.autograd.set_detect_anomaly``)."""
    from ember.autograd import anomaly

    return anomaly.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return is_anomaly_enabled()


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for the whole process."""
    from ember.autograd import anomaly

    anomaly.set_detect_anomaly(enabled, check_nan)


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy offers no way to flush denormal floats to zero."""
    return False


def is_storage(obj) -> bool:
    """False: ember has no storage objects (tensors own their arrays)."""
    return False


def get_device_module(device=None):
    """``ember.cuda`` for a CUDA device (or the default accelerator), ``ember.cpu`` semantics otherwise."""
    import ember  # the package imports this module

    kind = getattr(device, "type", None) or str(device or "cuda").split(":")[0]
    if kind == "cuda":
        return ember.cuda
    raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'ember.{kind}'.")


def get_device(input) -> int:
    """-1 for a CPU tensor, the GPU index for a CUDA one."""
    return input.get_device()
