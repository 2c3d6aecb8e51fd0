"""Embedding backward: the rows of the output gradient scatter-added into the weight's gradient.

``embedding_backward(grad, indices, num_rows, padding_idx)`` returns the gradient of a
``(num_rows, dim)`` weight from ``grad`` of shape ``indices.shape + (dim,)``: row ``r`` is the sum
of the gradient rows at the positions where ``indices == r``, and row ``padding_idx`` (when not
None) stays zero. The reference adds in index order (``add.at``); the CUDA kernel adds with
``atomicAdd``, one thread per element of ``grad``, so repeated rows are summed in an
unspecified order (equal up to rounding). The kernel takes float32 and float64; float16
gradients are summed in float32 and rounded back once (bfloat16 has no CuPy dtype).
"""

from __future__ import annotations

import numpy as np

from ember.backend import xp_of

__all__ = ["build_embedding_backward", "embedding_backward"]


def embedding_backward(grad, indices, num_rows: int, padding_idx: int | None):
    """The weight's gradient: ``grad``'s rows added at ``indices``; row ``padding_idx`` zero."""
    xp = xp_of(grad)
    dim = grad.shape[-1]
    out = xp.zeros((num_rows, dim), grad.dtype)
    xp.add.at(out, indices.reshape(-1), grad.reshape(-1, dim))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


_SOURCE = r"""
extern "C" __global__ void ember_embedding_backward(
        const T* grad, const long long* rows, T* out, const long long positions,
        const long long dim, const long long padding) {
    const long long total = positions * dim;
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += stride) {
        const long long position = k / dim;
        const long long row = rows[position];
        if (row != padding) atomicAdd(out + row * dim + (k - position * dim), grad[k]);
    }
}
"""

_C_TYPES = {"float32": "float", "float64": "double"}
_THREADS = 256
_MAX_BLOCKS = 65535


def build_embedding_backward(cupy):
    """``embedding_backward`` as one ``atomicAdd`` kernel (float32, float64)."""
    compiled: dict[str, object] = {}

    def kernel_for(dtype_name: str):
        if dtype_name not in compiled:
            code = f"typedef {_C_TYPES[dtype_name]} T;\n{_SOURCE}"
            compiled[dtype_name] = cupy.RawKernel(code, "ember_embedding_backward")
        return compiled[dtype_name]

    def embedding_backward_cuda(grad, indices, num_rows: int, padding_idx: int | None):
        name = np.dtype(grad.dtype).name
        if name not in _C_TYPES:  # float16: summed in float32, as atomicAdd on halves would lose it
            wide = embedding_backward_cuda(grad.astype(cupy.float32), indices, num_rows, padding_idx)
            return wide.astype(grad.dtype)
        dim = grad.shape[-1]
        with grad.device:
            out = cupy.zeros((num_rows, dim), grad.dtype)
            rows = cupy.ascontiguousarray(indices.reshape(-1), dtype=cupy.int64)
            grad = cupy.ascontiguousarray(grad)
            total = rows.size * dim
            if total == 0:
                return out
            blocks = min((total + _THREADS - 1) // _THREADS, _MAX_BLOCKS)
            padding = -1 if padding_idx is None else padding_idx
            args = (grad, rows, out, np.int64(rows.size), np.int64(dim), np.int64(padding))
            kernel_for(name)((blocks,), (_THREADS,), args)
        return out

    return embedding_backward_cuda
