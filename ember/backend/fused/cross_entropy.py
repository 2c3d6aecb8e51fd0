"""Cross entropy of (N, C) logits against class indices, per row, and its gradient from the logits.

``forward(x, target, class_weight, ignore_index)`` gives the rows' losses
``-w[n] * log_softmax(x)[n, target[n]]`` and their weights ``w[n]`` (``class_weight[target[n]]``,
1 without class weights, 0 where the target is ``ignore_index``); the caller reduces them.
``backward(x, target, row_scale)`` is ``row_scale[n] * (softmax(x)[n] - onehot(target[n]))``,
recomputing the softmax from the logits, so forward keeps no (N, C) array for backward.
``target`` there holds valid class indices (the caller puts 0 where a row is ignored, and 0 in
``row_scale``). ember's ``SoftmaxCrossEntropy`` has no label smoothing (``F.cross_entropy``
composes it from this loss and a mean), so neither do these kernels.
"""

from __future__ import annotations

from ember.backend import xp_of
from ember.backend.fused._cuda import RowModule, as_compute
from ember.backend.fused._reference import widen
from ember.backend.fused.softmax import SOURCE as SOFTMAX_SOURCE

__all__ = ["backward", "build_backward", "build_forward", "forward"]


def forward(x, target, class_weight, ignore_index: int):
    """Per-row losses and weights (both (N,), ``x``'s dtype) of (N, C) logits ``x``."""
    xp = xp_of(x)
    work = widen(xp, x)
    kept = target != ignore_index
    safe = xp.where(kept, target, 0)
    weight = kept.astype(work.dtype)
    if class_weight is not None:
        weight = weight * widen(xp, class_weight)[safe]
    shifted = work - work.max(axis=1, keepdims=True)
    log_total = xp.log(xp.exp(shifted).sum(axis=1))
    picked = shifted[xp.arange(x.shape[0]), safe] - log_total
    losses = xp.where(kept, -picked * weight, 0)
    return losses.astype(x.dtype), weight.astype(x.dtype)


def backward(x, target, row_scale):
    """``row_scale[:, None] * (softmax(x) - onehot(target))`` in ``x``'s dtype."""
    xp = xp_of(x)
    work = widen(xp, x)
    shifted = work - work.max(axis=1, keepdims=True)
    e = xp.exp(shifted)
    e /= e.sum(axis=1, keepdims=True)
    e[xp.arange(x.shape[0]), target] -= 1
    e *= widen(xp, row_scale)[:, None]
    return e.astype(x.dtype, copy=False)


SOURCE = r"""
extern "C" __global__ void ember_cross_entropy_forward(
        const T* x, const long long* target, const T* class_weight, int weighted,
        long long ignore_index, T* losses, T* weights, long long n) {
    __shared__ T buffer[EMBER_THREADS];
    const long long r = blockIdx.x;
    const T* row = x + r * n;
    T top = ember_negative_infinity();
    for (long long j = threadIdx.x; j < n; j += blockDim.x) top = ember_max(top, row[j]);
    top = ember_block_max(top, buffer);
    T total = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) total += exp(row[j] - top);
    total = ember_block_sum(total, buffer);
    if (threadIdx.x == 0) {
        const long long t = target[r];
        const bool kept = t != ignore_index;
        const long long safe = kept ? t : 0;
        const T w = kept ? (weighted ? class_weight[safe] : (T)1) : (T)0;
        const T picked = (n > 0 ? row[safe] : (T)0) - top - log(total);
        losses[r] = kept ? -picked * w : (T)0;
        weights[r] = w;
    }
}

extern "C" __global__ void ember_cross_entropy_backward(
        const T* x, const long long* target, const T* row_scale, T* grad, long long n) {
    __shared__ T buffer[EMBER_THREADS];
    const long long r = blockIdx.x;
    const T* row = x + r * n;
    T* out = grad + r * n;
    T top = ember_negative_infinity();
    for (long long j = threadIdx.x; j < n; j += blockDim.x) top = ember_max(top, row[j]);
    top = ember_block_max(top, buffer);
    T total = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) total += exp(row[j] - top);
    total = ember_block_sum(total, buffer);
    const long long t = target[r];
    const T scale = row_scale[r];
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        out[j] = scale * (exp(row[j] - top) / total - (j == t ? (T)1 : (T)0));
    }
}
"""


def build_forward(cupy):
    """``forward`` as one CUDA block per row."""
    module = RowModule(cupy, SOFTMAX_SOURCE + SOURCE)

    def fused_forward(x, target, class_weight, ignore_index: int):
        work = as_compute(cupy, x)
        rows, n = work.shape
        losses = cupy.empty(rows, work.dtype)
        weights = cupy.empty(rows, work.dtype)
        weighted = class_weight is not None
        table = cupy.ascontiguousarray(class_weight, dtype=work.dtype) if weighted else work
        args = (
            work,
            cupy.ascontiguousarray(target, dtype=cupy.int64),
            table,
            cupy.int32(weighted),
            cupy.int64(ignore_index),
            losses,
            weights,
            cupy.int64(n),
        )
        module.launch_rows("ember_cross_entropy_forward", rows, work.dtype, args)
        return losses.astype(x.dtype, copy=False), weights.astype(x.dtype, copy=False)

    return fused_forward


def build_backward(cupy):
    """``backward`` as one CUDA block per row."""
    module = RowModule(cupy, SOFTMAX_SOURCE + SOURCE)

    def fused_backward(x, target, row_scale):
        work = as_compute(cupy, x)
        rows, n = work.shape
        grad = cupy.empty_like(work)
        scale = cupy.ascontiguousarray(row_scale, dtype=work.dtype)
        target = cupy.ascontiguousarray(target, dtype=cupy.int64)
        module.launch_rows(
            "ember_cross_entropy_backward", rows, work.dtype, (work, target, scale, grad, cupy.int64(n))
        )
        return grad.astype(x.dtype, copy=False)

    return fused_backward
