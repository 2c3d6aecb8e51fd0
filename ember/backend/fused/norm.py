"""Layer norm over a row's trailing elements, and batch norm per channel over (N, *spatial).

Layer norm sees ``x`` as (rows, n): ``layer_forward(x, weight, bias, eps)`` gives the output,
and each row's mean, biased variance and ``rstd = 1 / sqrt(var + eps)``; ``layer_backward(x,
grad, mean, rstd, weight, params)`` gives ``dx = rstd * (gw - mean(gw) - xhat * mean(gw *
xhat))`` with ``gw = grad * weight``, and (when ``params``) the weight's and bias's gradients
``sum(grad * xhat)`` and ``sum(grad)`` over the rows. ``weight``/``bias`` are (n,) or None.

Batch norm sees ``x`` as (N, C, L): ``batch_forward`` and ``batch_backward`` are the same with
per-channel statistics over N and L and a per-channel (C,) weight and bias. The statistics and
the gradients of weight and bias come back in the compute dtype (float32 for float16 inputs), the
output and ``dx`` in ``x``'s dtype. On the GPU one block per row (per channel) reduces in shared
memory; the weight's and bias's layer-norm gradients are column sums, one thread per column.
"""

from __future__ import annotations

from ember.backend import xp_of
from ember.backend.fused._cuda import THREADS, RowModule, as_compute
from ember.backend.fused._reference import widen

__all__ = [
    "batch_backward",
    "batch_forward",
    "build_batch_backward",
    "build_batch_forward",
    "build_layer_backward",
    "build_layer_forward",
    "layer_backward",
    "layer_forward",
]


def _affine(xp, xhat, weight, bias, shape):
    out = xhat if weight is None else xhat * widen(xp, weight).reshape(shape)
    return out if bias is None else out + widen(xp, bias).reshape(shape)


def layer_forward(x, weight, bias, eps: float):
    """``(out, mean, var, rstd)`` of layer norm over each row of the (rows, n) ``x``."""
    xp = xp_of(x)
    work = widen(xp, x)
    mean = work.mean(axis=1)
    centred = work - mean[:, None]
    var = (centred * centred).mean(axis=1)
    rstd = 1.0 / xp.sqrt(var + eps)
    out = _affine(xp, centred * rstd[:, None], weight, bias, (1, -1))
    return out.astype(x.dtype, copy=False), mean, var, rstd


def layer_backward(x, grad, mean, rstd, weight, params: bool = True):
    """``(dx, dweight, dbias)`` of layer norm (the last two None unless ``params``)."""
    xp = xp_of(x)
    g = widen(xp, grad)
    xhat = (widen(xp, x) - mean[:, None]) * rstd[:, None]
    gw = g if weight is None else g * widen(xp, weight)[None, :]
    dx = gw - gw.mean(axis=1, keepdims=True) - xhat * (gw * xhat).mean(axis=1, keepdims=True)
    dx *= rstd[:, None]
    dweight = (g * xhat).sum(axis=0) if params else None
    dbias = g.sum(axis=0) if params else None
    return dx.astype(x.dtype, copy=False), dweight, dbias


def batch_forward(x, weight, bias, eps: float):
    """``(out, mean, var, rstd)`` of batch norm per channel of the (N, C, L) ``x``."""
    xp = xp_of(x)
    work = widen(xp, x)
    mean = work.mean(axis=(0, 2))
    centred = work - mean[None, :, None]
    var = (centred * centred).mean(axis=(0, 2))
    rstd = 1.0 / xp.sqrt(var + eps)
    out = _affine(xp, centred * rstd[None, :, None], weight, bias, (1, -1, 1))
    return out.astype(x.dtype, copy=False), mean, var, rstd


def batch_backward(x, grad, mean, rstd, weight, params: bool = True):
    """``(dx, dweight, dbias)`` of batch norm (the last two None unless ``params``)."""
    xp = xp_of(x)
    g = widen(xp, grad)
    xhat = (widen(xp, x) - mean[None, :, None]) * rstd[None, :, None]
    count = x.shape[0] * x.shape[2]
    sum_g = g.sum(axis=(0, 2))
    sum_gx = (g * xhat).sum(axis=(0, 2))
    scale = rstd if weight is None else rstd * widen(xp, weight)
    dx = (g - (sum_g / count)[None, :, None] - xhat * (sum_gx / count)[None, :, None]) * scale[None, :, None]
    return dx.astype(x.dtype, copy=False), (sum_gx if params else None), (sum_g if params else None)


SOURCE = r"""
__device__ __forceinline__ T ember_param(const T* values, int present, long long at, T otherwise) {
    return present ? values[at] : otherwise;
}

extern "C" __global__ void ember_layer_norm_forward(
        const T* x, const T* weight, int has_weight, const T* bias, int has_bias,
        T* out, T* mean, T* var, T* rstd, long long n, double eps) {
    __shared__ T buffer[EMBER_THREADS];
    const long long r = blockIdx.x;
    const T* row = x + r * n;
    T* dst = out + r * n;
    T total = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) total += row[j];
    const T m = ember_block_sum(total, buffer) / (T)n;
    T squares = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) squares += (row[j] - m) * (row[j] - m);
    const T v = ember_block_sum(squares, buffer) / (T)n;
    const T rs = (T)1 / sqrt(v + (T)eps);
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        dst[j] = (row[j] - m) * rs * ember_param(weight, has_weight, j, (T)1)
                 + ember_param(bias, has_bias, j, (T)0);
    }
    if (threadIdx.x == 0) {
        mean[r] = m;
        var[r] = v;
        rstd[r] = rs;
    }
}

extern "C" __global__ void ember_layer_norm_backward(
        const T* x, const T* g, const T* mean, const T* rstd, const T* weight, int has_weight,
        T* dx, long long n) {
    __shared__ T buffer[EMBER_THREADS];
    const long long r = blockIdx.x;
    const T* xr = x + r * n;
    const T* gr = g + r * n;
    T* dr = dx + r * n;
    const T m = mean[r], rs = rstd[r];
    T sum_gw = 0, sum_gwx = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        const T gw = gr[j] * ember_param(weight, has_weight, j, (T)1);
        sum_gw += gw;
        sum_gwx += gw * (xr[j] - m) * rs;
    }
    sum_gw = ember_block_sum(sum_gw, buffer) / (T)n;
    sum_gwx = ember_block_sum(sum_gwx, buffer) / (T)n;
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        const T gw = gr[j] * ember_param(weight, has_weight, j, (T)1);
        dr[j] = rs * (gw - sum_gw - (xr[j] - m) * rs * sum_gwx);
    }
}

// the weight's and bias's gradients: one thread per column, reading rows in order (coalesced)
extern "C" __global__ void ember_layer_norm_params(
        const T* x, const T* g, const T* mean, const T* rstd, T* dweight, T* dbias,
        long long rows, long long n) {
    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    T dw = 0, db = 0;
    for (long long r = 0; r < rows; ++r) {
        const T gv = g[r * n + j];
        dw += gv * (x[r * n + j] - mean[r]) * rstd[r];
        db += gv;
    }
    dweight[j] = dw;
    dbias[j] = db;
}

#define EMBER_AT(i) (((i) / length) * channels * length + c * length + (i) % length)

extern "C" __global__ void ember_batch_norm_forward(
        const T* x, const T* weight, int has_weight, const T* bias, int has_bias,
        T* out, T* mean, T* var, T* rstd, long long batch, long long channels, long long length,
        double eps) {
    __shared__ T buffer[EMBER_THREADS];
    const long long c = blockIdx.x;
    const long long count = batch * length;
    T total = 0;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) total += x[EMBER_AT(i)];
    const T m = ember_block_sum(total, buffer) / (T)count;
    T squares = 0;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const T d = x[EMBER_AT(i)] - m;
        squares += d * d;
    }
    const T v = ember_block_sum(squares, buffer) / (T)count;
    const T rs = (T)1 / sqrt(v + (T)eps);
    const T scale = rs * ember_param(weight, has_weight, c, (T)1);
    const T shift = ember_param(bias, has_bias, c, (T)0);
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const long long at = EMBER_AT(i);
        out[at] = (x[at] - m) * scale + shift;
    }
    if (threadIdx.x == 0) {
        mean[c] = m;
        var[c] = v;
        rstd[c] = rs;
    }
}

extern "C" __global__ void ember_batch_norm_backward(
        const T* x, const T* g, const T* mean, const T* rstd, const T* weight, int has_weight,
        T* dx, T* dweight, T* dbias, long long batch, long long channels, long long length) {
    __shared__ T buffer[EMBER_THREADS];
    const long long c = blockIdx.x;
    const long long count = batch * length;
    const T m = mean[c], rs = rstd[c];
    T sum_g = 0, sum_gx = 0;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const long long at = EMBER_AT(i);
        sum_g += g[at];
        sum_gx += g[at] * (x[at] - m) * rs;
    }
    sum_g = ember_block_sum(sum_g, buffer);
    sum_gx = ember_block_sum(sum_gx, buffer);
    const T scale = rs * ember_param(weight, has_weight, c, (T)1);
    const T mean_g = sum_g / (T)count, mean_gx = sum_gx / (T)count;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const long long at = EMBER_AT(i);
        dx[at] = scale * (g[at] - mean_g - (x[at] - m) * rs * mean_gx);
    }
    if (threadIdx.x == 0) {
        dweight[c] = sum_gx;
        dbias[c] = sum_g;
    }
}
"""


def _param(cupy, a, dtype, fallback):
    """A per-element parameter for the kernel: contiguous, and a stand-in array when None."""
    return (
        (fallback, cupy.int32(0))
        if a is None
        else (as_compute(cupy, a).astype(dtype, copy=False), cupy.int32(1))
    )


def build_layer_forward(cupy):
    """``layer_forward`` as one CUDA block per row."""
    module = RowModule(cupy, SOURCE)

    def fused_layer_forward(x, weight, bias, eps: float):
        work = as_compute(cupy, x)
        rows, n = work.shape
        out = cupy.empty_like(work)
        mean, var, rstd = (cupy.empty(rows, work.dtype) for _ in range(3))
        args = (work, *_param(cupy, weight, work.dtype, work), *_param(cupy, bias, work.dtype, work))
        args += (out, mean, var, rstd, cupy.int64(n), cupy.float64(eps))
        module.launch_rows("ember_layer_norm_forward", rows, work.dtype, args)
        return out.astype(x.dtype, copy=False), mean, var, rstd

    return fused_layer_forward


def build_layer_backward(cupy):
    """``layer_backward``: one CUDA block per row for dx, one thread per column for the rest."""
    module = RowModule(cupy, SOURCE)

    def fused_layer_backward(x, grad, mean, rstd, weight, params: bool = True):
        work, g = as_compute(cupy, x), as_compute(cupy, grad)
        rows, n = work.shape
        mean, rstd = mean.astype(work.dtype, copy=False), rstd.astype(work.dtype, copy=False)
        dx = cupy.empty_like(work)
        args = (work, g, mean, rstd, *_param(cupy, weight, work.dtype, work), dx, cupy.int64(n))
        module.launch_rows("ember_layer_norm_backward", rows, work.dtype, args)
        dweight = dbias = None
        if params and n > 0:
            dweight, dbias = cupy.empty(n, work.dtype), cupy.empty(n, work.dtype)
            blocks = (n + THREADS - 1) // THREADS
            args = (work, g, mean, rstd, dweight, dbias, cupy.int64(rows), cupy.int64(n))
            module.function("ember_layer_norm_params", work.dtype)((blocks,), (THREADS,), args)
        return dx.astype(x.dtype, copy=False), dweight, dbias

    return fused_layer_backward


def build_batch_forward(cupy):
    """``batch_forward`` as one CUDA block per channel."""
    module = RowModule(cupy, SOURCE)

    def fused_batch_forward(x, weight, bias, eps: float):
        work = as_compute(cupy, x)
        batch, channels, length = work.shape
        out = cupy.empty_like(work)
        mean, var, rstd = (cupy.empty(channels, work.dtype) for _ in range(3))
        args = (work, *_param(cupy, weight, work.dtype, work), *_param(cupy, bias, work.dtype, work))
        args += (out, mean, var, rstd, cupy.int64(batch), cupy.int64(channels), cupy.int64(length))
        args += (cupy.float64(eps),)
        module.launch_rows("ember_batch_norm_forward", channels, work.dtype, args)
        return out.astype(x.dtype, copy=False), mean, var, rstd

    return fused_batch_forward


def build_batch_backward(cupy):
    """``batch_backward`` as one CUDA block per channel."""
    module = RowModule(cupy, SOURCE)

    def fused_batch_backward(x, grad, mean, rstd, weight, params: bool = True):
        work, g = as_compute(cupy, x), as_compute(cupy, grad)
        batch, channels, length = work.shape
        mean, rstd = mean.astype(work.dtype, copy=False), rstd.astype(work.dtype, copy=False)
        dx = cupy.empty_like(work)
        dweight, dbias = cupy.empty(channels, work.dtype), cupy.empty(channels, work.dtype)
        args = (work, g, mean, rstd, *_param(cupy, weight, work.dtype, work), dx, dweight, dbias)
        args += (cupy.int64(batch), cupy.int64(channels), cupy.int64(length))
        module.launch_rows("ember_batch_norm_backward", channels, work.dtype, args)
        return dx.astype(x.dtype, copy=False), (dweight if params else None), (dbias if params else None)

    return fused_batch_backward
