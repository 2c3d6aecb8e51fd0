"""Keep freed memory for reuse: glibc's allocator settings for array-heavy work.

A training step allocates and frees the same arrays of a few MB every step. With glibc's
defaults, free memory at the top of the heap goes back to the OS once it passes a few MB, and
every page taken back later costs a page fault (4-5 us each on the benchmark machine): about
15,000 faults per step of the benchmark's transformer, a quarter of its step time. Raising
``M_TRIM_THRESHOLD`` (keep up to 1 GiB of free heap) and fixing ``M_MMAP_THRESHOLD`` at glibc's
largest value, 32 MiB (arrays up to that size come from the heap, whose freed blocks are
reused), removes them. Nothing leaks: freed blocks serve the next allocations, and the
process's resident size simply stays near its peak. Larger arrays still get their own mappings
and are returned when freed.

Applied once, when ember is imported, on Linux with glibc; set ``EMBER_MALLOC=default`` in the
environment to leave the allocator as it is.
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 1 << 30
MMAP_THRESHOLD = 32 << 20  # glibc's maximum on 64-bit systems


def keep_freed_memory() -> bool:
    """Apply the settings above; returns whether they were applied."""
    if os.environ.get("EMBER_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False  # not glibc (musl has no mallopt)
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
