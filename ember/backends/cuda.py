"""``ember.backends.cuda``: CUDA matmul precision and attention-kernel switches.

``matmul`` is the shared flag object ``ember.backend.flags.matmul`` itself, so
``ember.backends.cuda.matmul.allow_tf32 = True`` is what the CUDA backend reads. The
scaled-dot-product-attention switches are recorded; ember has one attention kernel per
backend, so they choose nothing yet (as on a PyTorch build without flash attention).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ember.backend import flags as _flags

__all__ = [
    "cudnn_sdp_enabled",
    "enable_cudnn_sdp",
    "enable_flash_sdp",
    "enable_math_sdp",
    "enable_mem_efficient_sdp",
    "flash_sdp_enabled",
    "is_built",
    "is_flash_attention_available",
    "math_sdp_enabled",
    "matmul",
    "mem_efficient_sdp_enabled",
    "preferred_linalg_library",
    "sdp_kernel",
]

matmul = _flags.matmul


def is_built() -> bool:
    """True when ember can run on CUDA here (CuPy is installed and imports)."""
    from ember import cuda

    return cuda.is_available()


def enable_flash_sdp(enabled: bool) -> None:
    _flags.sdp.flash = bool(enabled)


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _flags.sdp.mem_efficient = bool(enabled)


def enable_math_sdp(enabled: bool) -> None:
    _flags.sdp.math = bool(enabled)


def enable_cudnn_sdp(enabled: bool) -> None:
    _flags.sdp.cudnn = bool(enabled)


def flash_sdp_enabled() -> bool:
    return _flags.sdp.flash


def mem_efficient_sdp_enabled() -> bool:
    return _flags.sdp.mem_efficient


def math_sdp_enabled() -> bool:
    return _flags.sdp.math


def cudnn_sdp_enabled() -> bool:
    return _flags.sdp.cudnn


def is_flash_attention_available() -> bool:
    return False


def preferred_linalg_library(backend: str | None = None) -> str:
    """ember's CUDA linear algebra is CuPy's (cuSOLVER); the choice is recorded, not used."""
    return "default"


@contextlib.contextmanager
def sdp_kernel(
    enable_flash: bool = True,
    enable_math: bool = True,
    enable_mem_efficient: bool = True,
    enable_cudnn: bool = True,
) -> Iterator[None]:
    """Set the attention-kernel switches inside a ``with`` block (deprecated in PyTorch too)."""
    saved = _flags.sdp.snapshot()
    _flags.sdp.update(
        {
            "flash": enable_flash,
            "math": enable_math,
            "mem_efficient": enable_mem_efficient,
            "cudnn": enable_cudnn,
        }
    )
    try:
        yield
    finally:
        _flags.sdp.update(saved)
