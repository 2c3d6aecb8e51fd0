"""nn.functional: max, average and power-average pooling, and max unpooling, in 1, 2 and 3-D.

The 1-D forms run the 2-D primitives of ``ember.ops.pool`` with a unit height, the 3-D forms
run them on three spatial dims; unbatched inputs (one dim fewer) are accepted, as in PyTorch.
Adaptive and fractional pooling: ``adaptive_pooling.py``.
"""

from __future__ import annotations

import math

from ember.nn._functional.conv import expand_param
from ember.ops.pool import AvgPool2d, MaxPool2d, PlaneScatter, PoolGeometry, avg_divisor
from ember.tensor import Tensor

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]

_LAYOUTS = {1: "N, C, L", 2: "N, C, H, W", 3: "N, C, D, H, W"}


def as_batched(op: str, input: Tensor, spatial: int) -> tuple:
    """(input viewed as (N, C, H, W) or (N, C, D, H, W), a function undoing that on results).

    1-D inputs get a unit height, unbatched ones a unit batch.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    layout = _LAYOUTS[spatial]
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


def _geometry(
    op: str, x: Tensor, spatial: int, kernel_size, stride, padding, dilation, ceil_mode: bool
) -> PoolGeometry:
    def lift(value, name, fill):
        sizes = expand_param(value, spatial, name, op)
        return (fill,) + sizes if spatial == 1 else sizes

    kernel = lift(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None or stride == [] or stride == () else lift(stride, "stride", 1)
    padding, dilation = lift(padding, "padding", 0), lift(dilation, "dilation", 1)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise RuntimeError(
            f"{op}: kernel_size {list(kernel)}, stride {list(stride)} and dilation "
            f"{list(dilation)} must be positive and padding {list(padding)} >= 0"
        )
    for p, k in zip(padding, kernel):
        if 2 * p > k:
            raise RuntimeError(
                f"{op}: pad should be at most half of kernel size, but got pad={p} and kernel_size={k}"
            )
    geo = PoolGeometry(kernel, stride, padding, dilation, tuple(x.shape[2:]), ceil_mode)
    if min(geo.out_hw) < 1:
        raise RuntimeError(
            f"{op}: input of shape {list(x.shape)} is too small: computed output size "
            f"{list(geo.out_hw[-spatial:])} for kernel_size {list(kernel[-spatial:])}, stride "
            f"{list(stride[-spatial:])}, padding {list(padding[-spatial:])}"
        )
    return geo


def _max_pool(
    op: str,
    spatial: int,
    input: Tensor,
    kernel_size,
    stride,
    padding,
    dilation,
    ceil_mode: bool,
    return_indices: bool,
):
    x, restore = as_batched(op, input, spatial)
    geo = _geometry(op, x, spatial, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return restore(MaxPool2d.apply(x, geo, False))
    out, indices = MaxPool2d.apply(x, geo, True)
    return restore(out), restore(indices)


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Window maxima over (N, C, H, W); padding counts as -inf; indices are flat per (H, W) plane.

    >>> import ember
    >>> max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Window maxima over (N, C, L).

    >>> import ember
    >>> max_pool1d(ember.tensor([[[1., 3., 2., 0.]]]), 2)
    tensor([[[3., 2.]]])
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    op: str,
    spatial: int,
    input: Tensor,
    kernel_size,
    stride,
    padding,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override,
) -> Tensor:
    x, restore = as_batched(op, input, spatial)
    geo = _geometry(op, x, spatial, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor_override must be non-zero")
    divisor = avg_divisor(x.xp, geo, count_include_pad, divisor_override, x._data.dtype)
    return restore(AvgPool2d.apply(x, geo, divisor))


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Window means over (N, C, H, W), zero padding counted unless ``count_include_pad=False``.

    >>> import ember
    >>> avg_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Window means over (N, C, L).

    >>> import ember
    >>> avg_pool1d(ember.tensor([[[1., 3., 2., 0.]]]), 2)
    tensor([[[2., 1.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def _lp_pool(
    avg_pool, spatial: int, input: Tensor, norm_type: float, kernel_size, stride, ceil_mode: bool
) -> Tensor:
    kernel = expand_param(kernel_size, spatial, "kernel_size", f"lp_pool{spatial}d")
    out = avg_pool(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: ``(sum over the window of x ** p) ** (1 / p)``.

    >>> import ember
    >>> lp_pool2d(ember.ones(1, 1, 2, 2), 2, 2)
    tensor([[[[2.]]]])
    """
    return _lp_pool(avg_pool2d, 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, L).

    >>> import ember
    >>> lp_pool1d(ember.ones(1, 1, 4), 1, 2)
    tensor([[[2., 2.]]])
    """
    return _lp_pool(avg_pool1d, 1, input, norm_type, kernel_size, stride, ceil_mode)


def _max_unpool(
    op: str, spatial: int, input: Tensor, indices: Tensor, kernel_size, stride, padding, output_size
) -> Tensor:
    x, restore = as_batched(op, input, spatial)
    idx, _ = as_batched(op, indices, spatial)
    if tuple(idx.shape) != tuple(x.shape) or idx.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: expected integer indices of the input's shape {list(input.shape)}, "
            f"got {indices.dtype} of shape {list(indices.shape)}"
        )
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
                raise ValueError(
                    f"{op}: invalid output_size {list(output_size)}: each size must lie "
                    f"strictly between {[a - b for a, b in zip(default, stride)]} and "
                    f"{[a + b for a, b in zip(default, stride)]}"
                )
    plane = (1,) + sizes if spatial == 1 else sizes
    limit = math.prod(plane)
    data = idx._data
    if data.size and (int(data.min()) < 0 or int(data.max()) >= limit):
        raise RuntimeError(
            f"{op}: found an index outside the output plane of size {list(sizes)} "
            f"(indices must lie in [0, {limit - 1}])"
        )
    return restore(PlaneScatter.apply(x, data.astype(x.xp.int64, copy=False), plane))


def max_unpool2d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """The partial inverse of ``max_pool2d``: values at their indices, zeros elsewhere.

    >>> import ember
    >>> out, idx = max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> max_unpool2d(out, idx, 2)[0, 0, 1]
    tensor([0., 5., 0., 7.])
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """The partial inverse of ``max_pool1d``.

    >>> import ember
    >>> out, idx = max_pool1d(ember.tensor([[[1., 3., 2., 0.]]]), 2, return_indices=True)
    >>> max_unpool1d(out, idx, 2)
    tensor([[[0., 3., 2., 0.]]])
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Window maxima over (N, C, D, H, W); indices are flat per (D, H, W) volume.

    >>> import ember
    >>> max_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 2)
    tensor([[[[[7.]]]]])
    """
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """``max_pool1d`` returning ``(values, indices)``."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """``max_pool2d`` returning ``(values, indices)``."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """``max_pool3d`` returning ``(values, indices)``."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Window means over (N, C, D, H, W).

    >>> import ember
    >>> avg_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 2)
    tensor([[[[[3.5000]]]]])
    """
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, D, H, W).

    >>> import ember
    >>> lp_pool3d(ember.ones(1, 1, 2, 2, 2), 1, 2)
    tensor([[[[[8.]]]]])
    """
    return _lp_pool(avg_pool3d, 3, input, norm_type, kernel_size, stride, ceil_mode)


def max_unpool3d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """The partial inverse of ``max_pool3d``.

    >>> import ember
    >>> out, idx = max_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 2, return_indices=True)
    >>> max_unpool3d(out, idx, 2).flatten()
    tensor([0., 0., 0., 0., 0., 0., 0., 7.])
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)
