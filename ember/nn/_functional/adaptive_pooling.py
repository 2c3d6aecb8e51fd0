"""nn.functional: adaptive average / max pooling (1, 2, 3-D) and fractional max pooling (2, 3-D).

Adaptive windows follow PyTorch: window i of an axis of ``size`` pooled to ``out`` covers
``[floor(i * size / out), ceil((i + 1) * size / out))``. Max pooling over windows that do not
tile the input gathers every window's candidates by flat index, takes the first maximum, and
reads the input there through ``PlaneGather`` (whose adjoint scatters the gradient back).
"""

from __future__ import annotations

import math

from ember import random_ops
from ember.dtypes import is_floating_np
from ember.nn._functional.conv import expand_param
from ember.nn._functional.pooling import _max_pool, as_batched, avg_pool2d, avg_pool3d
from ember.ops.pool import PlaneGather
from ember.tensor import Tensor, make

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]


def _adaptive_size(op: str, output_size, in_sizes: tuple, spatial: int) -> tuple:
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * spatial
    if len(sizes) != spatial:
        raise ValueError(f"{op}: output_size must be an int or {spatial} ints, got {output_size!r}")
    sizes = tuple(in_sizes[i] if s is None else int(s) for i, s in enumerate(sizes))
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {output_size!r}")
    return (1,) + sizes if spatial == 1 else sizes


def adaptive_windows(xp, size: int, out: int) -> tuple:
    """PyTorch's adaptive windows: ``start = floor(i * size / out)``,
    ``end = ceil((i + 1) * size / out)``."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _averaging_matrix(xp, size: int, out: int, dtype):
    """(out, size) matrix whose rows average PyTorch's adaptive windows."""
    start, end = adaptive_windows(xp, size, out)
    pos = xp.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg(op: str, spatial: int, input: Tensor, output_size) -> Tensor:
    x, restore = as_batched(op, input, spatial)
    in_sizes = tuple(x.shape[2:])
    out_sizes = _adaptive_size(op, output_size, tuple(input.shape[-spatial:]), spatial)
    if all(o == 1 for o in out_sizes):
        return restore(x.mean(tuple(range(2, x.dim())), keepdim=True))
    if all(o and s % o == 0 for s, o in zip(in_sizes, out_sizes)):
        pool = avg_pool3d if len(in_sizes) == 3 else avg_pool2d
        return restore(pool(x, tuple(s // o for s, o in zip(in_sizes, out_sizes))))
    xp, dtype = x.xp, x._data.dtype
    for axis, (size, out) in enumerate(zip(in_sizes, out_sizes), start=2):
        if size != out:  # average along this axis: (…, size) @ (size, out)
            matrix = make(_averaging_matrix(xp, size, out, dtype).T.copy())
            x = x.movedim(axis, -1).matmul(matrix).movedim(-1, axis)
    return restore(x)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) to a fixed length.

    >>> import ember
    >>> adaptive_avg_pool1d(ember.tensor([[[1., 2., 3., 4.]]]), 2)
    tensor([[[1.5000, 3.5000]]])
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (H_out, W_out); ``None`` keeps an input size.

    >>> import ember
    >>> adaptive_avg_pool2d(ember.ones(2, 3, 7, 5), (2, 2)).shape
    ember.Size([2, 3, 2, 2])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, D, H, W) to a fixed (D_out, H_out, W_out).

    >>> import ember
    >>> adaptive_avg_pool3d(ember.ones(2, 3, 5, 7, 4), (2, 3, None)).shape
    ember.Size([2, 3, 2, 3, 4])
    """
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _window_argmax(xp, data, starts: list, spans: list, ends: list | None = None):
    """Flat per-plane indices of each window's first maximum, (N, C, *out).

    ``starts[i]`` holds the windows' first positions along spatial axis i, shaped (out_i,) or
    (N, C, out_i); ``spans[i]`` is the longest window there. A window shorter than the longest
    (``ends``) repeats its last element, which leaves its maximum unchanged.
    """
    n, c, *sizes = data.shape
    nd = len(sizes)
    flat = 0
    for i, (start, span) in enumerate(zip(starts, spans)):
        pos = start[..., :, None] + xp.arange(span)
        if ends is not None:
            pos = xp.minimum(pos, (ends[i] - 1)[..., :, None])
        lead = pos.shape[:-2] if pos.ndim == 4 else (1, 1)
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos.shape[-2:]
        flat = flat * sizes[i] + pos.reshape(tuple(lead) + tuple(shape))
    out_sizes = flat.shape[2 : 2 + nd]
    flat = xp.broadcast_to(flat, (n, c) + flat.shape[2:]).reshape(n, c, -1)
    values = xp.take_along_axis(data.reshape(n, c, -1), flat, axis=2)
    values = values.reshape((n, c, math.prod(out_sizes), -1))
    if is_floating_np(values.dtype):  # NaN wins, as in PyTorch
        values = xp.where(xp.isnan(values), xp.inf, values)
    local = values.argmax(-1)[..., None]
    chosen = xp.take_along_axis(flat.reshape(values.shape), local, axis=-1)
    return chosen.reshape((n, c) + tuple(out_sizes)).astype(xp.int64)


def _adaptive_max(op: str, spatial: int, input: Tensor, output_size, return_indices: bool):
    x, restore = as_batched(op, input, spatial)
    in_sizes = tuple(x.shape[2:])
    out_sizes = _adaptive_size(op, output_size, tuple(input.shape[-spatial:]), spatial)
    if all(o and s % o == 0 for s, o in zip(in_sizes, out_sizes)):
        kernel = tuple(s // o for s, o in zip(in_sizes, out_sizes))
        result = _max_pool(op, len(in_sizes), x, kernel, None, 0, 1, False, return_indices)
        return tuple(map(restore, result)) if return_indices else restore(result)
    xp = x.xp
    windows = [adaptive_windows(xp, s, o) for s, o in zip(in_sizes, out_sizes)]
    starts, ends = [w[0] for w in windows], [w[1] for w in windows]
    spans = [int((e - s).max()) if len(s) else 1 for s, e in windows]
    idx = _window_argmax(xp, x._data, starts, spans, ends)
    out = PlaneGather.apply(x, idx)
    return (restore(out), restore(make(idx))) if return_indices else restore(out)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of (N, C, L) to a fixed length.

    >>> import ember
    >>> adaptive_max_pool1d(ember.tensor([[[1., 5., 3.]]]), 2)
    tensor([[[5., 5.]]])
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size (H_out, W_out), windows as in ``adaptive_avg_pool2d``.

    >>> import ember
    >>> adaptive_max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 1)
    tensor([[[[15.]]]])
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of (N, C, D, H, W) to a fixed (D_out, H_out, W_out).

    >>> import ember
    >>> adaptive_max_pool3d(ember.arange(27.).reshape(1, 1, 3, 3, 3), 1).flatten()
    tensor([26.])
    """
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool1d`` returning ``(values, indices)``."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool2d`` returning ``(values, indices)``."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool3d`` returning ``(values, indices)``."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, True)


def _fractional_starts(xp, samples, size: int, kernel: int, out: int):
    """PyTorch's pseudo-random window starts along one axis: (N, C, out) from samples (N, C)."""
    if out == 1:
        return xp.full(samples.shape + (1,), size - kernel, dtype=xp.int64)
    alpha = (size - kernel) / (out - 1)
    i = xp.arange(out - 1)
    starts = (xp.floor((i + samples[..., None]) * alpha) - xp.floor(samples[..., None] * alpha)).astype(
        xp.int64
    )
    last = xp.full(samples.shape + (1,), size - kernel, dtype=xp.int64)
    return xp.concatenate([starts, last], axis=-1)


def _fractional(
    op: str,
    spatial: int,
    input: Tensor,
    kernel_size,
    output_size,
    output_ratio,
    return_indices: bool,
    _random_samples,
):
    x, restore = as_batched(op, input, spatial)
    n, c, *sizes = x.shape
    kernel = expand_param(kernel_size, spatial, "kernel_size", op)
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op}: requires specifying either an output_size or an output_ratio")
        ratio = (
            expand_param(output_ratio, spatial, "output_ratio", op)
            if isinstance(output_ratio, int)
            else tuple(output_ratio)
            if isinstance(output_ratio, (tuple, list))
            else (float(output_ratio),) * spatial
        )
        if not all(0 < r < 1 for r in ratio):
            raise ValueError(f"{op}: output_ratio must be between 0 and 1 (got {output_ratio})")
        output_size = tuple(int(s * r) for s, r in zip(sizes, ratio))
    out_sizes = expand_param(output_size, spatial, "output_size", op)
    for s, k, o in zip(sizes, kernel, out_sizes):
        if o + k - 1 > s:
            raise RuntimeError(
                f"{op}: output_size {list(out_sizes)} + kernel_size {list(kernel)} "
                f"- 1 is too large for an input of shape {list(input.shape)}"
            )
    xp = x.xp
    if _random_samples is None:
        _random_samples = random_ops.rand(n, c, spatial, dtype=input.dtype, device=input.device)
    samples = _random_samples._data.astype(xp.float64)
    if samples.shape != (n, c, spatial):
        raise RuntimeError(
            f"{op}: expected _random_samples of shape {[n, c, spatial]}, got {list(samples.shape)}"
        )
    # PyTorch's samples run (w, h) in 2-D but (t, h, w) in 3-D
    order = [1, 0] if spatial == 2 else [0, 1, 2]
    starts = [
        _fractional_starts(xp, samples[:, :, order[i]], sizes[i], kernel[i], out_sizes[i])
        for i in range(spatial)
    ]
    idx = _window_argmax(xp, x._data, starts, list(kernel))
    out = PlaneGather.apply(x, idx)
    return (restore(out), restore(make(idx))) if return_indices else restore(out)


def fractional_max_pool2d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """Fractional max pooling (Graham, 2014) over (N, C, H, W): pseudo-random window starts.

    >>> import ember
    >>> fractional_max_pool2d(ember.ones(1, 2, 9, 9), 2, output_size=5).shape
    ember.Size([1, 2, 5, 5])
    """
    return _fractional(
        "fractional_max_pool2d",
        2,
        input,
        kernel_size,
        output_size,
        output_ratio,
        return_indices,
        _random_samples,
    )


def fractional_max_pool3d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """Fractional max pooling over (N, C, D, H, W).

    >>> import ember
    >>> fractional_max_pool3d(ember.ones(1, 2, 6, 6, 6), 2, output_ratio=0.5).shape
    ember.Size([1, 2, 3, 3, 3])
    """
    return _fractional(
        "fractional_max_pool3d",
        3,
        input,
        kernel_size,
        output_size,
        output_ratio,
        return_indices,
        _random_samples,
    )


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = True,
    _random_samples=None,
):
    """``fractional_max_pool2d`` returning ``(values, indices)``."""
    return _fractional(
        "fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, True, _random_samples
    )


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = True,
    _random_samples=None,
):
    """``fractional_max_pool3d`` returning ``(values, indices)``."""
    return _fractional(
        "fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, True, _random_samples
    )
