"""``ember.backends.cuda``: ``matmul.allow_tf32`` and the float32 matmul precision.

TF32 makes float32 matrix products on Ampere and newer GPUs run on tensor cores with a 10-bit
mantissa. Off by default, as in PyTorch. Setting it switches cuBLAS through CuPy's compute type
for float32; without a GPU the setting is only recorded (and applied if CUDA loads later).
"""

from __future__ import annotations

from ember import backend

__all__ = ["get_float32_matmul_precision", "is_built", "matmul", "set_float32_matmul_precision"]

_PRECISIONS = ("highest", "high", "medium")


def is_built() -> bool:
    """Whether ember can use CUDA here (CuPy importable); says nothing about a GPU being present."""
    return backend.cuda_is_built()


class _Matmul:
    """``ember.backends.cuda.matmul``: ``allow_tf32`` (bool)."""

    def __init__(self) -> None:
        self._allow_tf32 = False

    @property
    def allow_tf32(self) -> bool:
        return self._allow_tf32

    @allow_tf32.setter
    def allow_tf32(self, flag: bool) -> None:
        self._allow_tf32 = bool(flag)
        cuda = backend.get("cuda")
        if cuda.is_available():
            cuda.set_allow_tf32(self._allow_tf32)

    @property
    def allow_fp16_reduced_precision_reduction(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<ember.backends.cuda.matmul allow_tf32={self._allow_tf32}>"


matmul = _Matmul()


def set_float32_matmul_precision(precision: str) -> None:
    """``"highest"`` (full float32), ``"high"`` or ``"medium"`` (TF32 allowed), as PyTorch."""
    if precision not in _PRECISIONS:
        raise RuntimeError(
            f"set_float32_matmul_precision: expected one of {_PRECISIONS}, got {precision!r}"
        )
    matmul.allow_tf32 = precision != "highest"
    _precision[0] = precision


def get_float32_matmul_precision() -> str:
    if matmul.allow_tf32 and _precision[0] == "highest":
        return "high"
    if not matmul.allow_tf32:
        return "highest"
    return _precision[0]


_precision = ["highest"]
