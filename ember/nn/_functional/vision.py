"""nn.functional: ``interpolate``/``upsample``, ``pixel_shuffle``/``pixel_unshuffle``, ``unfold``/``fold``.

Interpolation along each spatial dim is linear in the input, so it is a product with a small
(out, in) matrix built from PyTorch's source-index rules; gradients of every order come from
matmul. ``unfold``/``fold`` are the im2col/col2im primitives of ``ember.ops.conv``.
"""

from __future__ import annotations

import math

from ember.nn._functional.conv import expand_param
from ember.ops.conv import Col2Im, ConvGeometry, Im2Col
from ember.tensor import Tensor, make

__all__ = [
    "channel_shuffle",
    "fold",
    "interpolate",
    "native_channel_shuffle",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]

_MODES = {
    "nearest": None,
    "nearest-exact": None,
    "linear": 1,
    "bilinear": 2,
    "bicubic": 2,
    "trilinear": 3,
    "area": None,
}


def _output_sizes(op: str, input: Tensor, size, scale_factor, spatial: int) -> tuple:
    """(output sizes, the scales PyTorch uses in its index rules or None per dim)."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size or scale_factor must be given")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * spatial
        if len(sizes) != spatial:
            raise ValueError(
                f"{op}: size {size!r} must have {spatial} values for an input of shape "
                f"{list(input.shape)} ({spatial} spatial dims)"
            )
        return tuple(int(s) for s in sizes), (None,) * spatial
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * spatial
    if len(scales) != spatial:
        raise ValueError(
            f"{op}: scale_factor {scale_factor!r} must have {spatial} values for an input "
            f"of shape {list(input.shape)}"
        )
    return tuple(math.floor(s * f) for s, f in zip(in_sizes, scales)), tuple(float(f) for f in scales)


def _nearest_matrix(xp, size: int, out: int, scale, exact: bool):
    """(out, size) selection matrix of PyTorch's nearest (or nearest-exact) source indices."""
    ratio = xp.float32(1.0 / scale if scale else size / out)
    dst = xp.arange(out, dtype=xp.float32)
    src = xp.floor((dst + xp.float32(0.5)) * ratio) if exact else xp.floor(dst * ratio)
    src = xp.minimum(src.astype(xp.int64), size - 1)
    return (src[:, None] == xp.arange(size)).astype(xp.float64)


def _source_positions(xp, size: int, out: int, scale, align_corners: bool, cubic: bool = False):
    if align_corners:
        ratio = (size - 1) / (out - 1) if out > 1 else 0.0
        return xp.arange(out, dtype=xp.float64) * ratio
    ratio = 1.0 / scale if scale else size / out
    src = (xp.arange(out, dtype=xp.float64) + 0.5) * ratio - 0.5
    return src if cubic else xp.maximum(src, 0.0)


def _linear_matrix(xp, size: int, out: int, scale, align_corners: bool):
    """(out, size) matrix of PyTorch's linear interpolation weights."""
    src = _source_positions(xp, size, out, scale, align_corners)
    low = xp.minimum(xp.floor(src).astype(xp.int64), size - 1)
    high = xp.minimum(low + 1, size - 1)
    frac = src - low
    rows = xp.arange(out)
    mat = xp.zeros((out, size))
    xp.add.at(mat, (rows, low), 1.0 - frac)
    xp.add.at(mat, (rows, high), frac)
    return mat


def _cubic_matrix(xp, size: int, out: int, scale, align_corners: bool):
    """(out, size) matrix of PyTorch's bicubic weights (A = -0.75, borders clamped)."""
    src = _source_positions(xp, size, out, scale, align_corners, cubic=True)
    low = xp.floor(src)
    t = src - low
    a = -0.75

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    rows = xp.arange(out)
    mat = xp.zeros((out, size))
    for k, w in enumerate(weights):
        xp.add.at(mat, (rows, xp.clip(low.astype(xp.int64) - 1 + k, 0, size - 1)), w)
    return mat


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``, as PyTorch.

    Modes: ``nearest``, ``nearest-exact``, ``linear`` (3-D input), ``bilinear`` and ``bicubic``
    (4-D), ``area`` (adaptive average pooling). ``align_corners`` applies to linear modes.

    >>> import ember
    >>> interpolate(ember.tensor([[[0., 1.]]]), scale_factor=2, mode="linear")
    tensor([[[0.0000, 0.2500, 0.7500, 1.0000]]])
    """
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}; expected one of {list(_MODES)}")
    spatial = input.dim() - 2
    need = _MODES[mode]
    if spatial < 1 or spatial > 3 or (need is not None and spatial != need):
        expected = f"a {need + 2}-dim input" if need is not None else "a 3-, 4- or 5-dim input"
        raise NotImplementedError(
            f"interpolate: mode {mode!r} needs {expected} (N, C, spatial...), got shape {list(input.shape)}"
        )
    linear_mode = mode in ("linear", "bilinear", "bicubic", "trilinear")
    if align_corners is not None and not linear_mode:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating "
            "modes: linear | bilinear | bicubic | trilinear"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    sizes, scales = _output_sizes("interpolate", input, size, scale_factor, spatial)
    if recompute_scale_factor:
        scales = (None,) * spatial
    if min(sizes) < 1:
        raise ValueError(
            f"interpolate: output size {list(sizes)} must be positive (input shape {list(input.shape)})"
        )
    if mode == "area":
        from ember.nn._functional import adaptive_pooling as pooling

        fn = {1: pooling.adaptive_avg_pool1d, 2: pooling.adaptive_avg_pool2d, 3: pooling.adaptive_avg_pool3d}[
            spatial
        ]
        return fn(input, sizes)
    xp, out = input.xp, input
    for axis in range(spatial):
        in_size, out_size, scale = input.shape[2 + axis], sizes[axis], scales[axis]
        if mode in ("nearest", "nearest-exact"):
            mat = _nearest_matrix(xp, in_size, out_size, scale, mode == "nearest-exact")
        elif mode == "bicubic":
            mat = _cubic_matrix(xp, in_size, out_size, scale, bool(align_corners))
        else:
            mat = _linear_matrix(xp, in_size, out_size, scale, bool(align_corners))
        out = _apply_along(out, make(mat.astype(input._data.dtype)), 2 + axis)
    return out


def _apply_along(x: Tensor, mat: Tensor, dim: int) -> Tensor:
    """Contract dim ``dim`` of ``x`` with the (out, in) matrix ``mat``."""
    if dim == x.dim() - 1:
        return x.matmul(mat.t())
    moved = x.movedim(dim, -1).matmul(mat.t())
    return moved.movedim(-1, dim)


def upsample(
    input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None
) -> Tensor:
    """The deprecated name of ``interpolate``.

    >>> import ember
    >>> upsample(ember.ones(1, 1, 2, 2), scale_factor=2).shape
    ember.Size([1, 1, 4, 4])
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """``interpolate(..., mode='nearest')``.

    >>> import ember
    >>> upsample_nearest(ember.ones(1, 1, 2), scale_factor=3).shape
    ember.Size([1, 1, 6])
    """
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """``interpolate(..., mode='bilinear', align_corners=True)``.

    >>> import ember
    >>> upsample_bilinear(ember.ones(1, 1, 2, 2), scale_factor=2).shape
    ember.Size([1, 1, 4, 4])
    """
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): move channel blocks into space.

    >>> import ember
    >>> pixel_shuffle(ember.ones(1, 8, 2, 3), 2).shape
    ember.Size([1, 2, 4, 6])
    """
    r = int(upscale_factor)
    if input.dim() < 3 or r < 1 or input.shape[-3] % (r * r):
        raise RuntimeError(
            f"pixel_shuffle: expected an input of at least 3 dims whose channel dim (-3) is "
            f"divisible by upscale_factor**2 = {r * r}, got shape {list(input.shape)}"
        )
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of ``pixel_shuffle``.

    >>> import ember
    >>> pixel_unshuffle(ember.ones(1, 2, 4, 6), 2).shape
    ember.Size([1, 8, 2, 3])
    """
    r = int(downscale_factor)
    if input.dim() < 3 or r < 1 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(
            f"pixel_unshuffle: expected an input of at least 3 dims whose height and width are "
            f"divisible by downscale_factor = {r}, got shape {list(input.shape)}"
        )
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def _block_geometry(op: str, kernel_size, dilation, padding, stride, hw: tuple) -> ConvGeometry:
    kernel = expand_param(kernel_size, 2, "kernel_size", op)
    dilation = expand_param(dilation, 2, "dilation", op)
    padding = expand_param(padding, 2, "padding", op)
    stride = expand_param(stride, 2, "stride", op)
    if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1 or min(padding) < 0:
        raise RuntimeError(
            f"{op}: kernel_size, dilation and stride must be positive and padding "
            f">= 0, got {kernel}, {dilation}, {stride}, {padding}"
        )
    geo = ConvGeometry(stride, padding, dilation, 1, kernel, hw)
    if min(geo.out_hw) < 1:
        raise RuntimeError(
            f"{op}: spatial size {list(hw)} padded by {list(padding)} is smaller than "
            f"the dilated kernel; computed block grid {list(geo.out_hw)}"
        )
    return geo


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of (N, C, H, W) as columns: (N, C*kh*kw, L), L the number of blocks.

    >>> import ember
    >>> unfold(ember.ones(2, 3, 4, 5), 2).shape
    ember.Size([2, 12, 12])
    """
    if input.dim() not in (3, 4):
        raise RuntimeError(
            f"unfold: expected a 3-dim (unbatched) or 4-dim (N, C, H, W) input, got shape {list(input.shape)}"
        )
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    geo = _block_geometry("unfold", kernel_size, dilation, padding, stride, tuple(x.shape[2:]))
    out = Im2Col.apply(x, geo)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns (N, C*kh*kw, L) back into (N, C, H, W): the adjoint of ``unfold``.

    >>> import ember
    >>> fold(ember.ones(1, 4, 9), (4, 4), 2)[0, 0]
    tensor([[1., 2., 2., 1.],
            [2., 4., 4., 2.],
            [2., 4., 4., 2.],
            [1., 2., 2., 1.]])
    """
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"fold: expected a 2-dim (unbatched) or 3-dim (N, C*kh*kw, L) input, got "
            f"shape {list(input.shape)}"
        )
    unbatched = input.dim() == 2
    cols = input.unsqueeze(0) if unbatched else input
    hw = expand_param(output_size, 2, "output_size", "fold")
    geo = _block_geometry("fold", kernel_size, dilation, padding, stride, hw)
    blocks = geo.kernel[0] * geo.kernel[1]
    grid = geo.out_hw[0] * geo.out_hw[1]
    if cols.shape[1] % blocks or cols.shape[2] != grid:
        raise RuntimeError(
            f"fold: input of shape {list(input.shape)} does not fit: dim -2 must be divisible by "
            f"kh*kw = {blocks} and dim -1 must equal the number of blocks {grid} "
            f"({geo.out_hw[0]} x {geo.out_hw[1]}) for output_size {list(hw)}"
        )
    out = Col2Im.apply(cols, geo, cols.shape[1] // blocks)
    return out.squeeze(0) if unbatched else out


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of (N, C, *) from ``groups`` groups: (g, C/g) -> (C/g, g).

    >>> import ember
    >>> channel_shuffle(ember.arange(4.).reshape(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.])
    """
    if input.dim() < 3:
        raise RuntimeError(
            f"channel_shuffle: expected an input of at least 3 dims (N, C, *), got shape {list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"channel_shuffle: Number of groups to divide channels in must be "
            f"positive. Value of groups:{groups}"
        )
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(
            f"channel_shuffle: Number of channels ({c}) must be divisible by groups ({groups})"
        )
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle
