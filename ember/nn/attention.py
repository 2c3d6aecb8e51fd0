"""``torch.nn.attention``: choosing scaled-dot-product-attention kernels.

``sdpa_kernel`` sets the same switches as ``ember.backends.cuda.enable_*_sdp`` for the length of a
``with`` block. ember has one attention kernel per backend, so the switches are recorded and
read back, and choose nothing yet (as on a PyTorch build without the fused kernels).

>>> import ember
>>> from ember.nn.attention import SDPBackend, sdpa_kernel
>>> with sdpa_kernel(SDPBackend.MATH):
...     ember.backends.cuda.flash_sdp_enabled()
False
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable, Iterator

from ember.backend import flags as _flags

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The attention kernels PyTorch can choose between (its values)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_SWITCHES = {
    SDPBackend.FLASH_ATTENTION: "flash",
    SDPBackend.MATH: "math",
    SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
    SDPBackend.CUDNN_ATTENTION: "cudnn",
}


@contextlib.contextmanager
def sdpa_kernel(backends: SDPBackend | Iterable[SDPBackend], set_priority: bool = False) -> Iterator[None]:
    """Enable exactly ``backends`` inside the block; the previous switches come back after it."""
    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends)
    if not all(isinstance(b, SDPBackend) for b in chosen):
        raise AssertionError(  # PyTorch's exception type
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
            f"got {type(backends).__name__}"
        )
    saved = _flags.sdp.snapshot()
    _flags.sdp.update({switch: backend in chosen for backend, switch in _SWITCHES.items()})
    try:
        yield
    finally:
        _flags.sdp.update(saved)
