"""softmax and log_softmax along the last axis, forward and backward (callers move the axis).

``forward(x, log)`` is ``exp(x - max) / sum(exp(x - max))`` (or ``x - max - log(sum(...))``)
per row; ``backward(y, grad, log)`` is ``y * (grad - sum(grad * y))`` (or
``grad - exp(y) * sum(grad)``) from the saved output ``y``. On the GPU one block per row
reduces the max and the sum in shared memory; float16 computes in float32.
"""

from __future__ import annotations

from ember.backend import xp_of
from ember.backend.fused._cuda import RowModule, as_compute
from ember.backend.fused._reference import widen

__all__ = ["backward", "build_backward", "build_forward", "forward", "SOURCE"]


def forward(x, log: bool = False):
    """softmax (``log``: log_softmax) of ``x`` along its last axis, in ``x``'s dtype."""
    xp = xp_of(x)
    work = widen(xp, x)
    shifted = work - work.max(axis=-1, keepdims=True)
    total = xp.exp(shifted).sum(axis=-1, keepdims=True)
    out = shifted - xp.log(total) if log else xp.exp(shifted) / total
    return out.astype(x.dtype, copy=False)


def backward(y, grad, log: bool = False):
    """The input's gradient from the output ``y`` and the output's gradient ``grad``."""
    xp = xp_of(y)
    y32, g32 = widen(xp, y), widen(xp, grad)
    if log:
        out = g32 - xp.exp(y32) * g32.sum(axis=-1, keepdims=True)
    else:
        out = y32 * (g32 - (g32 * y32).sum(axis=-1, keepdims=True))
    return out.astype(grad.dtype, copy=False)


SOURCE = r"""
__device__ __forceinline__ T ember_negative_infinity() {
    return (T)(-__longlong_as_double(0x7ff0000000000000ULL));
}

extern "C" __global__ void ember_softmax_forward(const T* x, T* y, long long n, int log_mode) {
    __shared__ T buffer[EMBER_THREADS];
    const long long offset = (long long)blockIdx.x * n;
    const T* row = x + offset;
    T* out = y + offset;
    T top = ember_negative_infinity();
    for (long long j = threadIdx.x; j < n; j += blockDim.x) top = ember_max(top, row[j]);
    top = ember_block_max(top, buffer);
    T total = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) total += exp(row[j] - top);
    total = ember_block_sum(total, buffer);
    if (log_mode) {
        const T shift = top + log(total);
        for (long long j = threadIdx.x; j < n; j += blockDim.x) out[j] = row[j] - shift;
    } else {
        for (long long j = threadIdx.x; j < n; j += blockDim.x) out[j] = exp(row[j] - top) / total;
    }
}

// grad_in = scale * y * (g - sum(g * y)), or for log_softmax scale * (g - exp(y) * sum(g))
extern "C" __global__ void ember_softmax_backward(const T* y, const T* g, T* out, long long n,
                                                  int log_mode, T scale) {
    __shared__ T buffer[EMBER_THREADS];
    const long long offset = (long long)blockIdx.x * n;
    const T* yr = y + offset;
    const T* gr = g + offset;
    T* dr = out + offset;
    T total = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) total += log_mode ? gr[j] : gr[j] * yr[j];
    total = ember_block_sum(total, buffer);
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        dr[j] = scale * (log_mode ? gr[j] - exp(yr[j]) * total : yr[j] * (gr[j] - total));
    }
}
"""


def _rows(a) -> tuple[int, int]:
    n = a.shape[-1] if a.ndim else 1
    return (a.size // n if n else 0), n


def build_forward(cupy):
    """``forward`` as one CUDA block per row."""
    module = RowModule(cupy, SOURCE)

    def fused_forward(x, log: bool = False):
        work = as_compute(cupy, x)
        out = cupy.empty_like(work)
        rows, n = _rows(work)
        args = (work, out, cupy.int64(n), cupy.int32(bool(log)))
        module.launch_rows("ember_softmax_forward", rows, work.dtype, args)
        return out.astype(x.dtype, copy=False)

    return fused_forward


def build_backward(cupy):
    """``backward`` as one CUDA block per row."""
    module = RowModule(cupy, SOURCE)

    def fused_backward(y, grad, log: bool = False):
        y32, g32 = as_compute(cupy, y), as_compute(cupy, grad)
        out = cupy.empty_like(g32)
        rows, n = _rows(g32)
        one = module.scalar(1.0, g32.dtype)
        args = (y32, g32, out, cupy.int64(n), cupy.int32(bool(log)), one)
        module.launch_rows("ember_softmax_backward", rows, g32.dtype, args)
        return out.astype(grad.dtype, copy=False)

    return fused_backward
