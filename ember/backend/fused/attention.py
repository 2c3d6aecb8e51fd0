"""The masked, scaled softmax of scaled dot-product attention, forward and backward.

``masked_softmax(scores, scale, bias, causal)`` is ``softmax(scores * scale + bias)`` over the
last axis of (..., L, S) ``scores``, with ``bias`` None or an additive float mask broadcast
against ``scores`` (a bool mask is turned into 0 / -inf by the caller), and ``causal`` masking
key ``j > i`` for query ``i`` (top-left aligned, as ``tri(L, S)``). A row masked everywhere gives
zeros, not NaN. ``masked_softmax_backward(p, dp, scale)`` is ``scale * p * (dp - sum(p * dp))``,
the gradient of the unscaled scores. On the GPU one block per row; a bias of shape (L, S) is
read in place for every batch row, any other broadcast bias is expanded once.
"""

from __future__ import annotations

import math

from ember.backend import xp_of
from ember.backend.fused._cuda import RowModule, as_compute
from ember.backend.fused._reference import widen
from ember.backend.fused.softmax import SOURCE as SOFTMAX_SOURCE

__all__ = [
    "build_masked_softmax",
    "build_masked_softmax_backward",
    "masked_softmax",
    "masked_softmax_backward",
]


def masked_softmax(scores, scale: float, bias=None, causal: bool = False):
    """``softmax(scores * scale + bias)`` per row (masked key positions excluded), ``scores``' dtype."""
    xp = xp_of(scores)
    work = widen(xp, scores) * scale
    if causal:
        work = xp.where(xp.tri(*scores.shape[-2:], dtype=bool), work, -math.inf)
    if bias is not None:
        work = work + widen(xp, bias)
    top = work.max(axis=-1, keepdims=True)
    dead = top == -math.inf
    top = xp.where(dead, 0, top)
    e = xp.exp(work - top)
    total = xp.where(dead, 1, e.sum(axis=-1, keepdims=True))
    return (e / total).astype(scores.dtype, copy=False)


def masked_softmax_backward(p, dp, scale: float):
    """The gradient of the unscaled scores from ``p`` and the gradient ``dp`` of ``p``."""
    xp = xp_of(p)
    p32, dp32 = widen(xp, p), widen(xp, dp)
    out = p32 * (dp32 - (p32 * dp32).sum(axis=-1, keepdims=True)) * scale
    return out.astype(dp.dtype, copy=False)


SOURCE = r"""
__device__ __forceinline__ T ember_masked_score(const T* row, const T* bias_row, long long j,
                                                long long query, T scale, int causal) {
    if (causal && j > query) return ember_negative_infinity();
    return row[j] * scale + (bias_row ? bias_row[j] : (T)0);
}

extern "C" __global__ void ember_masked_softmax(
        const T* scores, const T* bias, long long bias_rows, T* p, long long n, long long queries,
        T scale, int causal) {
    __shared__ T buffer[EMBER_THREADS];
    const long long r = blockIdx.x;
    const T* row = scores + r * n;
    const T* bias_row = bias_rows > 0 ? bias + (r % bias_rows) * n : (const T*)0;
    const long long query = r % queries;
    T* out = p + r * n;
    T top = ember_negative_infinity();
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        top = ember_max(top, ember_masked_score(row, bias_row, j, query, scale, causal));
    }
    top = ember_block_max(top, buffer);
    if (top == ember_negative_infinity()) {  // masked everywhere: zeros, as the composite gives
        for (long long j = threadIdx.x; j < n; j += blockDim.x) out[j] = (T)0;
        return;
    }
    T total = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        total += exp(ember_masked_score(row, bias_row, j, query, scale, causal) - top);
    }
    total = ember_block_sum(total, buffer);
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        out[j] = exp(ember_masked_score(row, bias_row, j, query, scale, causal) - top) / total;
    }
}
"""


def _bias_rows(cupy, bias, scores, dtype):
    """``(bias, rows)`` for the kernel: contiguous, read at row ``r % rows`` of S values."""
    queries, keys = scores.shape[-2:]
    if bias is None:
        return scores, 0
    if bias.size == queries * keys and bias.shape[-2:] == (queries, keys):
        return cupy.ascontiguousarray(bias, dtype=dtype), queries
    expanded = cupy.ascontiguousarray(cupy.broadcast_to(bias, scores.shape), dtype=dtype)
    return expanded, scores.size // keys if keys else 0


def build_masked_softmax(cupy):
    """``masked_softmax`` as one CUDA block per row."""
    module = RowModule(cupy, SOFTMAX_SOURCE + SOURCE)

    def fused_masked_softmax(scores, scale: float, bias=None, causal: bool = False):
        work = as_compute(cupy, scores)
        queries, keys = work.shape[-2:]
        p = cupy.empty_like(work)
        table, bias_rows = _bias_rows(cupy, bias, work, work.dtype)
        rows = work.size // keys if keys else 0
        args = (work, table, cupy.int64(bias_rows), p, cupy.int64(keys), cupy.int64(queries))
        args += (module.scalar(scale, work.dtype), cupy.int32(bool(causal)))
        module.launch_rows("ember_masked_softmax", rows, work.dtype, args)
        return p.astype(scores.dtype, copy=False)

    return fused_masked_softmax


def build_masked_softmax_backward(cupy):
    """``masked_softmax_backward`` as one CUDA block per row (softmax's backward, scaled)."""
    module = RowModule(cupy, SOFTMAX_SOURCE)

    def fused_masked_softmax_backward(p, dp, scale: float):
        p32, dp32 = as_compute(cupy, p), as_compute(cupy, dp)
        out = cupy.empty_like(dp32)
        keys = dp32.shape[-1]
        rows = dp32.size // keys if keys else 0
        args = (p32, dp32, out, cupy.int64(keys), cupy.int32(0), module.scalar(scale, dp32.dtype))
        module.launch_rows("ember_softmax_backward", rows, dp32.dtype, args)
        return out.astype(dp.dtype, copy=False)

    return fused_masked_softmax_backward
