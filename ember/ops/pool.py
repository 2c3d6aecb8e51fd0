"""Pooling primitives on (N, C, H, W) arrays; the 1-D forms call these with H=1.

The geometry and the kernels take any number of trailing spatial dims (3-D pooling runs them on
(N, C, D, H, W)); the tiling fast paths below are 2-D only.

Every kernel reads the (padded) input through strided slices, one per kernel offset, so Python
loops run over the kh*kw offsets only, never over pixels:

* ``MaxPool2d(x)``: the window maxima; it keeps each window's argmax (a local offset, first
  maximum on ties, as PyTorch) and its backward is ``MaxPoolScatter``, whose adjoint is
  ``MaxPoolGather``; the pair closes under differentiation.
* ``AvgPool2d(x)`` (window sums over a divisor) and its adjoint ``AvgPoolSpread``.
* ``PlaneGather(x, idx)`` / ``PlaneScatter(g, idx)``: reading / adding at flat per-plane indices
  (adaptive max pooling, ``max_unpool2d``).

When windows do not overlap (stride >= dilated kernel) the adjoints write each strided slice
once, straight into the result, without zero-filling a padded buffer and adding. When they tile
the input exactly (stride = kernel, no padding or dilation: ``MaxPool2d(2)``), the max-pool
forward copies the offsets of a chunk of samples into contiguous planes first
(``_tile_chunks``): with one BLAS thread, 2x2 windows over (64, 32, 32, 32) took 3.5 ms instead
of 6.1, (64, 16, 10, 10) 0.22 instead of 0.40, (64, 128, 8, 8) 1.07 instead of 1.28. One
reduction over the window axes of a (N, C, Ho, kh, Wo, kw) view measured 10-25x slower.
"""

from __future__ import annotations

import itertools
import math

from ember.dtypes import is_floating_np
from ember.ops import Float32Primitive, Primitive

_TILE_BYTES = 1 << 19  # input per chunk of samples in MaxPool2d's tiling path (_tile_chunks)


class PoolGeometry:
    """Sizes of one N-D pooling (usually 2-D): kernel, stride, padding, dilation, in/out sizes.

    ``extra`` is the padding past ``padding`` that ceil_mode's last window reaches on the
    bottom/right; the padded input is ``in + 2 * padding + extra`` along each dim.
    """

    __slots__ = ("dilation", "extra", "in_hw", "kernel", "out_hw", "padding", "stride")

    def __init__(self, kernel, stride, padding, dilation, in_hw, ceil_mode: bool = False, out_hw=None):
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.in_hw = in_hw
        if out_hw is None:
            out_hw = tuple(
                pool_output_size(in_hw[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
                for i in range(len(kernel))
            )
        self.out_hw = out_hw
        self.extra = tuple(
            max(
                0, (out_hw[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - in_hw[i] - 2 * padding[i]
            )
            for i in range(len(kernel))
        )

    @property
    def ndim(self) -> int:
        """The number of spatial dims."""
        return len(self.kernel)

    @property
    def overlapping(self) -> bool:
        """Whether some input element lies in two windows (stride < dilated kernel extent)."""
        return any(self.stride[i] < self.dilation[i] * (self.kernel[i] - 1) + 1 for i in range(self.ndim))

    @property
    def padded(self) -> bool:
        return any(self.padding) or any(self.extra)

    @property
    def tiles(self) -> bool:
        """Whether the windows tile the input exactly: stride = kernel, no padding or dilation."""
        return (
            self.ndim == 2
            and self.stride == self.kernel
            and not self.padded
            and self.dilation == (1, 1)
            and all(self.in_hw[i] == self.out_hw[i] * self.kernel[i] for i in range(2))
        )

    def offsets(self):
        """(k, slices into the padded input that pick flat kernel offset k of every window)."""
        ranges = (range(k) for k in self.kernel)
        for k, offset in enumerate(itertools.product(*ranges)):
            yield (
                k,
                (Ellipsis,)
                + tuple(
                    slice(i * d, i * d + s * (o - 1) + 1, s)
                    for i, d, s, o in zip(offset, self.dilation, self.stride, self.out_hw)
                ),
            )

    def padded_shape(self, lead: tuple) -> tuple:
        return lead + tuple(self.in_hw[i] + 2 * self.padding[i] + self.extra[i] for i in range(self.ndim))

    def crop(self, padded):
        """The unpadded part of an array of ``padded_shape``."""
        if not self.padded:
            return padded
        inner = tuple(slice(p, p + s) for p, s in zip(self.padding, self.in_hw))
        return padded[(Ellipsis,) + inner]


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """PyTorch's pooling output length; with ceil_mode the last window must start inside the input."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pad(xp, x, geo: PoolGeometry, fill):
    if not geo.padded:
        return x
    out = xp.full(geo.padded_shape(x.shape[: -geo.ndim]), fill, dtype=x.dtype)
    geo.crop(out)[...] = x
    return out


def _tile_chunks(xp, x, geo: PoolGeometry):
    """Windows that tile the input, a chunk of samples at a time: ``(n0, n1, planes)``.

    ``planes[k]`` is kernel offset k of every window of samples n0..n1, a contiguous
    (n1-n0, C, Ho, Wo) array: one copy per chunk reorders (n, C, Ho, kh, Wo, kw) into
    (kh*kw, n, C, Ho, Wo), so the maxima and the first-argmax scan run on contiguous planes
    instead of strided views. The chunks (``_TILE_BYTES`` of input) share one buffer, which
    stays in cache; planes for the whole batch measured no faster than the strided views.
    """
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    n, c = x.shape[:2]
    step = max(1, min(n, _TILE_BYTES // max(1, c * ho * wo * kh * kw * x.itemsize)))
    buffer = xp.empty(kh * kw * step * c * ho * wo, x.dtype)
    for n0 in range(0, n, step):
        n1 = min(n0 + step, n)
        planes = buffer[: kh * kw * (n1 - n0) * c * ho * wo].reshape(kh, kw, n1 - n0, c, ho, wo)
        planes[...] = x[n0:n1].reshape(n1 - n0, c, ho, kh, wo, kw).transpose(3, 5, 0, 1, 2, 4)
        yield n0, n1, planes.reshape(kh * kw, n1 - n0, c, ho, wo)


def _first_max(xp, views, best, arg):
    """Window maxima into ``best`` and the offset of their first occurrence into ``arg``.

    ``views`` holds offset k of every window, each shaped like ``best``. The first offset
    holding the maximum = how many offsets precede the first match; ``run`` stays true until a
    match (plain ufuncs: copyto(where=) is several times slower). NaN wins, as in PyTorch,
    which points at the last NaN.
    """
    if len(views) == 1:
        best[...] = views[0]
    else:
        xp.maximum(views[0], views[1], out=best)  # propagates NaN, as PyTorch
    for v in views[2:]:
        xp.maximum(best, v, out=best)
    arg[...] = 0
    run = xp.ones(best.shape, xp.bool_)
    for v in views[:-1]:
        xp.greater(run, v == best, out=run)
        xp.add(arg, run, out=arg, casting="unsafe")
    if is_floating_np(best.dtype) and best.size and xp.isnan(best.max()):
        for k in range(len(views)):
            xp.copyto(arg, k, where=xp.isnan(views[k]))


def _lowest(xp, dtype):
    return -math.inf if is_floating_np(dtype) else xp.iinfo(dtype).min


def _window_add(xp, fill, geo: PoolGeometry, lead: tuple, dtype):
    """Sum each kernel offset's (…, Ho, Wo) part into the input grid.

    ``fill(k, dest, add)`` writes offset k's part into the strided slice ``dest`` (adding to it
    when ``add``). Disjoint windows that tile the input exactly are written once, straight into
    an uninitialised result; otherwise parts are added into a zeroed padded grid, then cropped.
    """
    if (
        geo.overlapping
        or geo.padded
        or any(geo.in_hw[i] != geo.out_hw[i] * geo.stride[i] for i in range(geo.ndim))
    ):
        out = xp.zeros(geo.padded_shape(lead), dtype)
        for k, where in geo.offsets():
            fill(k, out[where], True)
        return geo.crop(out)
    out = xp.empty(geo.padded_shape(lead), dtype)
    for k, where in geo.offsets():
        fill(k, out[where], False)
    return out


class MaxPool2d(Primitive):
    """``max_pool2d(x)`` over (N, C, H, W); ``flat=True`` also returns PyTorch's flat indices."""

    op_name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, geo: PoolGeometry, flat: bool = False):
        xp = ctx.xp
        lead = x.shape[: -geo.ndim]
        best = xp.empty(lead + geo.out_hw, x.dtype)
        arg = xp.empty(best.shape, xp.int8 if math.prod(geo.kernel) < 128 else xp.int32)
        if geo.tiles:
            for n0, n1, planes in _tile_chunks(xp, x, geo):
                _first_max(xp, planes, best[n0:n1], arg[n0:n1])
        else:
            padded = _pad(xp, x, geo, _lowest(xp, x.dtype))
            _first_max(xp, [padded[where] for _, where in geo.offsets()], best, arg)
        ctx.geo, ctx.arg = geo, arg
        if not flat:
            return best
        return best, flat_indices(xp, arg, geo)

    @staticmethod
    def backward(ctx, grad, *unused):
        return MaxPoolScatter.apply(grad, ctx.arg, ctx.geo), None, None


def flat_indices(xp, arg, geo: PoolGeometry):
    """Local window offsets -> PyTorch's flat indices into each unpadded (H, W) plane (int64)."""
    arg = arg.astype(xp.int64)
    flat = 0
    for i in range(geo.ndim):  # the offset along dim i is a digit of arg in base kernel[i]
        inner = math.prod(geo.kernel[i + 1 :])
        local = (arg // inner) % geo.kernel[i]
        start = xp.arange(geo.out_hw[i], dtype=xp.int64) * geo.stride[i] - geo.padding[i]
        start = start.reshape((-1,) + (1,) * (geo.ndim - 1 - i))
        flat = flat * geo.in_hw[i] + start + local * geo.dilation[i]
    return flat


class MaxPoolScatter(Primitive):
    """The adjoint of reading window argmaxes: each output grad goes to its window's argmax."""

    op_name = "max_pool2d_backward"

    @staticmethod
    def forward(ctx, g, arg, geo: PoolGeometry):
        xp = ctx.xp
        ctx.arg, ctx.geo = arg, geo

        def fill(k, dest, add):
            if add:
                dest += g * (arg == k)
            else:
                xp.multiply(g, arg == k, out=dest)

        return _window_add(xp, fill, geo, g.shape[: -geo.ndim], g.dtype)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolGather.apply(grad, ctx.arg, ctx.geo), None, None


class MaxPoolGather(Primitive):
    """Read each window's value at its saved argmax: (N, C, H, W) -> (N, C, Ho, Wo)."""

    op_name = "max_pool2d_gather"

    @staticmethod
    def forward(ctx, x, arg, geo: PoolGeometry):
        xp = ctx.xp
        ctx.arg, ctx.geo = arg, geo
        padded = _pad(xp, x, geo, 0)
        out = xp.zeros(arg.shape, x.dtype)
        for k, where in geo.offsets():
            xp.copyto(out, padded[where], where=arg == k)
        return out

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolScatter.apply(grad, ctx.arg, ctx.geo), None, None


def avg_divisor(xp, geo: PoolGeometry, count_include_pad: bool, divisor_override, dtype):
    """PyTorch's divisor per output position, (Ho, Wo): window size, clipped as the options say."""
    if divisor_override:
        return xp.full(geo.out_hw, divisor_override, dtype=dtype)
    factors = []
    for i in range(geo.ndim):
        k, s, p, size = geo.kernel[i], geo.stride[i], geo.padding[i], geo.in_hw[i]
        start = xp.arange(geo.out_hw[i]) * s - p
        end = xp.minimum(start + k, size + p)
        if count_include_pad:
            factors.append(end - start)
        else:
            factors.append(xp.minimum(end, size) - xp.maximum(start, 0))
    total = factors[0]
    for f in factors[1:]:
        total = total[..., None] * f
    return total.astype(dtype)


class AvgPool2d(Float32Primitive):
    """``avg_pool2d(x)``: window sums of the zero-padded input over ``divisor`` (Ho, Wo)."""

    op_name = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, geo: PoolGeometry, divisor):
        xp = ctx.xp
        ctx.geo, ctx.divisor = geo, divisor
        if geo.tiles:
            (kh, kw), (ho, wo), n_c = geo.kernel, geo.out_hw, x.shape[:-2]
            total = x.reshape(n_c + (ho, kh, wo, kw)).sum(axis=(-3, -1))
        else:
            padded = _pad(xp, x, geo, 0)
            total = None
            for _, where in geo.offsets():
                total = padded[where].copy() if total is None else xp.add(total, padded[where], out=total)
        total /= divisor
        return total

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolSpread.apply(grad, ctx.geo, ctx.divisor), None, None


class AvgPoolSpread(Primitive):
    """The adjoint of ``AvgPool2d``: each output grad, over its divisor, to every window element."""

    op_name = "avg_pool2d_backward"

    @staticmethod
    def forward(ctx, g, geo: PoolGeometry, divisor):
        xp = ctx.xp
        ctx.geo, ctx.divisor = geo, divisor
        share = g / divisor

        def fill(k, dest, add):
            if add:
                dest += share
            else:
                dest[...] = share

        return _window_add(xp, fill, geo, g.shape[: -geo.ndim], g.dtype)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2d.apply(grad, ctx.geo, ctx.divisor), None, None


class PlaneGather(Primitive):
    """``out[n, c, ...] = x[n, c].flat[idx[n, c, ...]]``: read (N, C, H, W) at flat plane indices."""

    op_name = "plane_gather"

    @staticmethod
    def forward(ctx, x, idx):
        xp = ctx.xp
        ctx.idx, ctx.in_shape = idx, x.shape
        planes = x.reshape(x.shape[0], x.shape[1], -1)
        out = xp.take_along_axis(planes, idx.reshape(idx.shape[0], idx.shape[1], -1), axis=2)
        return out.reshape(idx.shape)

    @staticmethod
    def backward(ctx, grad):
        return PlaneScatter.apply(grad, ctx.idx, tuple(ctx.in_shape[2:])), None


class PlaneScatter(Primitive):
    """``out[n, c].flat[idx[n, c, ...]] += g[n, c, ...]`` into zeros of (N, C, *plane)."""

    op_name = "plane_scatter"

    @staticmethod
    def forward(ctx, g, idx, plane: tuple):
        xp = ctx.xp
        ctx.idx = idx
        n, c = g.shape[:2]
        size = math.prod(plane)
        idx2 = idx.reshape(n * c, -1)
        offsets = (xp.arange(n * c, dtype=xp.int64) * size)[:, None]
        summed = xp.bincount((idx2 + offsets).ravel(), weights=g.reshape(-1), minlength=n * c * size)
        return summed.astype(g.dtype, copy=False).reshape((n, c) + tuple(plane))

    @staticmethod
    def backward(ctx, grad):
        return PlaneGather.apply(grad, ctx.idx), None, None
