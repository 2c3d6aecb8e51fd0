"""What the NN families' reference kernels share: the compute dtype, as on the device."""

from __future__ import annotations


def widen(xp, a):
    """``a`` in the dtype the kernels compute in: float64 stays, other floats become float32."""
    return a if a.dtype in (xp.float32, xp.float64) else a.astype(xp.float32)


def row_view(a):
    """``a`` as (rows, last axis length); a 0-d array is one row of one."""
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)
