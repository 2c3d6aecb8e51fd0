"""nn.functional: max, average, adaptive and power-average pooling, and max unpooling.

The 1-D forms run the 2-D primitives of ``ember.ops.pool`` with a unit height; unbatched inputs
(one dim fewer) are accepted, as in PyTorch.
"""

from __future__ import annotations

from ember.nn._functional.conv import expand_param
from ember.ops.pool import (
    AvgPool2d,
    MaxPool2d,
    PlaneGather,
    PlaneScatter,
    PoolGeometry,
    avg_divisor,
)
from ember.tensor import Tensor, make

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d", "max_pool1d", "max_pool2d",
    "max_unpool1d", "max_unpool2d",
]


def _as_4d(op: str, input: Tensor, spatial: int) -> tuple:
    """(input viewed as (N, C, H, W), a function undoing that view on the result)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    layout = "N, C, L" if spatial == 1 else "N, C, H, W"
    if input.dim() not in (spatial + 1, spatial + 2) or 0 in input.shape[-spatial:]:
        raise RuntimeError(
            f"{op}: expected a {spatial + 2}-dim ({layout}) or {spatial + 1}-dim (unbatched) input "
            f"with non-empty spatial dims, got shape {list(input.shape)}"
        )
    unbatched = input.dim() == spatial + 1
    x = input.unsqueeze(0) if unbatched else input
    if spatial == 1:
        x = x.unsqueeze(2)

    def restore(t: Tensor) -> Tensor:
        if spatial == 1:
            t = t.squeeze(2)
        return t.squeeze(0) if unbatched else t

    return x, restore


def _geometry(op: str, x: Tensor, spatial: int, kernel_size, stride, padding, dilation,
              ceil_mode: bool) -> PoolGeometry:
    def lift(value, name, fill):
        pair = expand_param(value, spatial, name, op)
        return pair if spatial == 2 else (fill,) + pair

    kernel = lift(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None or stride == [] or stride == () else lift(stride, "stride", 1)
    padding, dilation = lift(padding, "padding", 0), lift(dilation, "dilation", 1)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise RuntimeError(f"{op}: kernel_size {list(kernel)}, stride {list(stride)} and dilation "
                           f"{list(dilation)} must be positive and padding {list(padding)} >= 0")
    for p, k in zip(padding, kernel):
        if 2 * p > k:
            raise RuntimeError(
                f"{op}: pad should be at most half of kernel size, but got pad={p} and "
                f"kernel_size={k}"
            )
    geo = PoolGeometry(kernel, stride, padding, dilation, tuple(x.shape[2:]), ceil_mode)
    if min(geo.out_hw) < 1:
        raise RuntimeError(
            f"{op}: input of shape {list(x.shape)} is too small: computed output size "
            f"{list(geo.out_hw[2 - spatial:])} for kernel_size {list(kernel[2 - spatial:])}, stride "
            f"{list(stride[2 - spatial:])}, padding {list(padding[2 - spatial:])}"
        )
    return geo


def _max_pool(op: str, spatial: int, input: Tensor, kernel_size, stride, padding, dilation,
              ceil_mode: bool, return_indices: bool):
    x, restore = _as_4d(op, input, spatial)
    geo = _geometry(op, x, spatial, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return restore(MaxPool2d.apply(x, geo, False))
    out, indices = MaxPool2d.apply(x, geo, True)
    return restore(out), restore(indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Window maxima over (N, C, H, W); padding counts as -inf; indices are flat per (H, W) plane.

    >>> import ember
    >>> max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Window maxima over (N, C, L).

    >>> import ember
    >>> max_pool1d(ember.tensor([[[1., 3., 2., 0.]]]), 2)
    tensor([[[3., 2.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(op: str, spatial: int, input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override) -> Tensor:
    x, restore = _as_4d(op, input, spatial)
    geo = _geometry(op, x, spatial, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor_override must be non-zero")
    divisor = avg_divisor(x.xp, geo, count_include_pad, divisor_override, x._data.dtype)
    return restore(AvgPool2d.apply(x, geo, divisor))


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Window means over (N, C, H, W), zero padding counted unless ``count_include_pad=False``.

    >>> import ember
    >>> avg_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Window means over (N, C, L).

    >>> import ember
    >>> avg_pool1d(ember.tensor([[[1., 3., 2., 0.]]]), 2)
    tensor([[[2., 1.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: ``(sum over the window of x ** p) ** (1 / p)``.

    >>> import ember
    >>> lp_pool2d(ember.ones(1, 1, 2, 2), 2, 2)
    tensor([[[[2.]]]])
    """
    kh, kw = expand_param(kernel_size, 2, "kernel_size", "lp_pool2d")
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, L).

    >>> import ember
    >>> lp_pool1d(ember.ones(1, 1, 4), 1, 2)
    tensor([[[2., 2.]]])
    """
    (k,) = expand_param(kernel_size, 1, "kernel_size", "lp_pool1d")
    out = avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(k).pow(1.0 / norm_type)


def _adaptive_size(op: str, output_size, in_hw: tuple, spatial: int) -> tuple:
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * spatial
    if len(sizes) != spatial:
        raise ValueError(f"{op}: output_size must be an int or {spatial} ints, got {output_size!r}")
    sizes = tuple(in_hw[i] if s is None else int(s) for i, s in enumerate(sizes))
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {output_size!r}")
    return sizes if spatial == 2 else (1,) + sizes


def adaptive_windows(xp, size: int, out: int) -> tuple:
    """PyTorch's adaptive windows: ``start = floor(i * size / out)``, ``end = ceil((i+1) * size / out)``."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _averaging_matrix(xp, size: int, out: int, dtype):
    """(out, size) matrix whose rows average PyTorch's adaptive windows."""
    start, end = adaptive_windows(xp, size, out)
    pos = xp.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg(op: str, spatial: int, input: Tensor, output_size) -> Tensor:
    x, restore = _as_4d(op, input, spatial)
    (h, w), (ho, wo) = x.shape[2:], _adaptive_size(op, output_size, tuple(input.shape[-spatial:]), spatial)
    if (ho, wo) == (1, 1):
        return restore(x.mean((2, 3), keepdim=True))
    if ho and wo and h % ho == 0 and w % wo == 0:
        return restore(avg_pool2d(x, (h // ho, w // wo)))
    xp, dtype = x.xp, x._data.dtype
    rows = make(_averaging_matrix(xp, h, ho, dtype))
    cols = make(_averaging_matrix(xp, w, wo, dtype).T.copy())
    return restore(rows.matmul(x).matmul(cols))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (H_out, W_out); ``None`` keeps an input size.

    >>> import ember
    >>> adaptive_avg_pool2d(ember.ones(2, 3, 7, 5), (2, 2)).shape
    ember.Size([2, 3, 2, 2])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) to a fixed length.

    >>> import ember
    >>> adaptive_avg_pool1d(ember.tensor([[[1., 2., 3., 4.]]]), 2)
    tensor([[[1.5000, 3.5000]]])
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def _adaptive_argmax(xp, data, out_hw: tuple):
    """Flat per-plane indices of each adaptive window's first maximum, (N, C, Ho, Wo)."""
    n, c, h, w = data.shape
    index = []
    for size, out in zip((h, w), out_hw):
        start, end = adaptive_windows(xp, size, out)
        span = int((end - start).max())
        # windows shorter than the longest repeat their last element: the maximum is unchanged
        index.append(xp.minimum(start[:, None] + xp.arange(span), (end - 1)[:, None]))
    rows, cols = index
    kh, kw = rows.shape[1], cols.shape[1]
    windows = data[:, :, rows[:, :, None, None], cols[None, None, :, :]]  # N, C, Ho, kh, Wo, kw
    flat = windows.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, out_hw[0], out_hw[1], kh * kw)
    if flat.dtype.kind == "f":  # NaN wins, as in PyTorch
        flat = xp.where(xp.isnan(flat), xp.inf, flat)
    local = flat.argmax(-1)
    local_r, local_c = local // kw, local % kw
    return (rows[xp.arange(out_hw[0])[:, None], local_r] * w
            + cols[xp.arange(out_hw[1]), local_c]).astype(xp.int64)


def _adaptive_max(op: str, spatial: int, input: Tensor, output_size, return_indices: bool):
    x, restore = _as_4d(op, input, spatial)
    out_hw = _adaptive_size(op, output_size, tuple(input.shape[-spatial:]), spatial)
    h, w = x.shape[2:]
    if h % out_hw[0] == 0 and w % out_hw[1] == 0:
        result = _max_pool(op, 2, x, (h // out_hw[0], w // out_hw[1]), None, 0, 1, False,
                           return_indices)
        return tuple(map(restore, result)) if return_indices else restore(result)
    idx = _adaptive_argmax(x.xp, x._data, out_hw)
    out = PlaneGather.apply(x, idx)
    return (restore(out), restore(make(idx))) if return_indices else restore(out)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size (H_out, W_out), windows as in ``adaptive_avg_pool2d``.

    >>> import ember
    >>> adaptive_max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 1)
    tensor([[[[15.]]]])
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of (N, C, L) to a fixed length.

    >>> import ember
    >>> adaptive_max_pool1d(ember.tensor([[[1., 5., 3.]]]), 2)
    tensor([[[5., 5.]]])
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def _max_unpool(op: str, spatial: int, input: Tensor, indices: Tensor, kernel_size, stride,
                padding, output_size) -> Tensor:
    x, restore = _as_4d(op, input, spatial)
    idx, _ = _as_4d(op, indices, spatial)
    if tuple(idx.shape) != tuple(x.shape) or idx.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected integer indices of the input's shape {list(input.shape)}, "
                           f"got {indices.dtype} of shape {list(indices.shape)}")
    kernel = expand_param(kernel_size, spatial, "kernel_size", op)
    stride = kernel if stride is None else expand_param(stride, spatial, "stride", op)
    padding = expand_param(padding, spatial, "padding", op)
    in_sizes = tuple(input.shape[-spatial:])
    default = tuple((in_sizes[i] - 1) * stride[i] - 2 * padding[i] + kernel[i] for i in range(spatial))
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(int(s) for s in tuple(output_size)[-spatial:])
        for s, d, st in zip(sizes, default, stride):
            if not d - st < s < d + st:
                raise ValueError(f"{op}: invalid output_size {list(output_size)}: each size must lie "
                                 f"strictly between {[a - b for a, b in zip(default, stride)]} and "
                                 f"{[a + b for a, b in zip(default, stride)]}")
    plane = sizes if spatial == 2 else (1,) + sizes
    limit = plane[0] * plane[1]
    data = idx._data
    if data.size and (int(data.min()) < 0 or int(data.max()) >= limit):
        raise RuntimeError(f"{op}: found an index outside the output plane of size {list(sizes)} "
                           f"(indices must lie in [0, {limit - 1}])")
    return restore(PlaneScatter.apply(x, data.astype(x.xp.int64, copy=False), plane))


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool2d``: values at their indices, zeros elsewhere.

    >>> import ember
    >>> out, idx = max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> max_unpool2d(out, idx, 2)[0, 0, 1]
    tensor([0., 5., 0., 7.])
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool1d``.

    >>> import ember
    >>> out, idx = max_pool1d(ember.tensor([[[1., 3., 2., 0.]]]), 2, return_indices=True)
    >>> max_unpool1d(out, idx, 2)
    tensor([[[0., 3., 2., 0.]]])
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)
