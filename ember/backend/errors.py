"""Errors a backend raises in PyTorch's types."""

from __future__ import annotations

import re

__all__ = ["OutOfMemoryError", "check_cuda_dtype", "requested_bytes"]


def check_cuda_dtype(dtype) -> None:
    """Refuse dtypes CuPy cannot hold, with the remedy (PyTorch has them; ember on CuPy has not)."""
    if dtype.name == "bfloat16":
        raise TypeError(
            "bfloat16 tensors are not supported on CUDA: CuPy has no bfloat16 dtype; use "
            "float16 (or float32) on the GPU"
        )


def requested_bytes(exc: BaseException) -> int:
    """The size of the failed allocation, from CuPy's error (its ``size`` or its message)."""
    size = getattr(exc, "size", None)
    if isinstance(size, int):
        return size
    found = re.search(r"allocating ([\d,]+) bytes", str(exc))
    return int(found.group(1).replace(",", "")) if found else 0


class OutOfMemoryError(RuntimeError):
    """A device allocation failed (``torch.cuda.OutOfMemoryError``); the message names the op,
    the request and the memory pool's state."""

    @classmethod
    def describe(cls, op: str, request: str, size: int, stats: dict, total: int | None):
        used = stats.get("allocated_bytes.all.current", 0)
        reserved = stats.get("reserved_bytes.all.current", used)
        capacity = f" of the device's {_mib(total)} total" if total else ""
        return cls(
            f"CUDA out of memory in {op} ({request}): tried to allocate {_mib(size)}; the pool "
            f"holds {_mib(used)} in live tensors and {_mib(reserved)} reserved{capacity}. Free "
            "tensors you no longer need (del, then ember.cuda.empty_cache()), or use a smaller "
            "batch."
        )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.2f} MiB"
