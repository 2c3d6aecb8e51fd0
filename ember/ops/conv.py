"""N-D convolution primitives by im2col and matrix products (1-D calls the 2-D form with H=1).

Three linear primitives close under differentiation, so every order of gradient works:

* ``Conv2d(x, w, b)``: the convolution (bias optional);
* ``Conv2dInputGrad(g, w)``: its adjoint in the input (``conv_transpose2d`` is this op);
* ``Conv2dWeightGrad(x, g)``: its adjoint in the weight.

The helpers take any number of spatial dims (3-D convolutions use them as they are); the
measurements below are of the 2-D case.

Layout: im2col reads the padded input through a strided window view and copies it once into a
``(C*kh*kw, N*Ho*Wo)`` matrix, rows in weight order (c, i, j), columns in (n, ho, wo) order,
copying each window row as one record (``copy_rows``). Python loops run over kernel offsets
only (col2im), never over pixels. Measured with one BLAS thread at the shapes of the benchmark
CNNs (LeNet-5 and the 3-layer 3x3 net, batch 64):

* Conv2d does not keep its columns: the weight gradient redoes im2col. Kept, they are 9-25x the
  input and outlive the forward pass, so every training step grew the heap by them, and page
  faults on the fresh pages (about 3 us per 4 KiB here) cost more than the second im2col:
  LeNet-5 went from ~3200 page faults and ~10 ms of system time per step to none.
* K = C*kh*kw rows below the P = Ho*Wo pixels of a sample (first layers, few channels): one
  GEMM per sample, ``(O, K) @ (K, P)`` over a strided view of the columns, writes NCHW
  directly and the bias is added in place; the weight gradient sums N products
  ``(O, P) @ (P, K)`` read straight from the NCHW gradient. For 3 -> 32 channels on 32x32 that
  took the forward from 4.9 to 3.7 ms and the weight gradient from 4.5 to 3.5 ms. Otherwise one
  GEMM for the batch, ``(O, K) @ (K, N*P)``, transposed into NCHW in the pass that adds the
  bias: per-sample products of few pixels run below BLAS speed (64 -> 128 channels on 8x8:
  8.0 ms against 8.6 forward, 8.5 against 12.7 for the weight gradient; with two BLAS threads
  13.8 against 40).
* The input gradient of a stride-1 convolution pads the output gradient's rows to the padded
  input width ``Wp`` with zeros before its GEMM, so kernel offset (i, j) of every column block
  lands on one contiguous run of each padded input plane, shifted by ``i*dh*Wp + j*dw``: col2im
  is kh*kw long additions instead of additions over rows of ``Wo`` elements, which NumPy runs
  several times slower (GEMM and col2im: 18.5 -> 14.9 ms for 64 -> 128 channels on 8x8, 21.3 ->
  19.3 ms for 32 -> 64 on 16x16, 3.5 -> 2.4 ms for LeNet's second layer). The zero columns
  cost GEMM work; it pays while ``Wp < 2*Wo`` (at ``2*Wo`` both ways measured even).
* On the CPU, 2-D layers with groups 1, more than 64 column rows and at least 16 output
  channels run channels-last GEMMs instead, ``(N*P, K) @ (K, O)`` (``ops/conv_nhwc.py``,
  chosen by ``_nhwc_path``): ResNet-20's 16-64-channel layers ran the NCHW products at under
  half of OpenBLAS's speed. The stride-1 input gradient of a layer that does not widen runs as
  the forward convolution of the output gradient with the flipped weight, on the same paths.
"""

from __future__ import annotations

import functools
import itertools
import math

from ember import backend
from ember.backend import fused
from ember.ops import Primitive, conv_nhwc


class ConvGeometry:
    """Sizes of one convolution: stride, padding, dilation, groups, kernel and spatial dims."""

    __slots__ = ("dilation", "groups", "in_hw", "kernel", "out_hw", "padding", "stride")

    def __init__(self, stride, padding, dilation, groups, kernel, in_hw, out_hw=None):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.kernel, self.in_hw = kernel, in_hw
        if out_hw is None:
            out_hw = tuple(
                (in_hw[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                for i in range(len(kernel))
            )
        self.out_hw = out_hw

    @property
    def pixels(self) -> int:
        """Output positions per sample and channel (Ho*Wo in 2-D)."""
        return math.prod(self.out_hw)


def copy_rows(xp, dst, src):
    """``dst[...] = src`` (same shapes), by the backend's fastest copy (see ``backend.cpu``)."""
    backend.for_xp(xp).copy_rows(dst, src)


def contiguous(xp, a):
    """A C-contiguous copy of ``a`` made by ``copy_rows`` (``a`` itself when already laid out)."""
    if a.flags.c_contiguous:
        return a
    out = xp.empty(a.shape, a.dtype)
    copy_rows(xp, out, a)
    return out


def _inner(padding, sizes) -> tuple:
    """Slices picking the unpadded part of each padded spatial dim."""
    return tuple(slice(p, p + s) for p, s in zip(padding, sizes))


def _pad(xp, x, padding):
    if not any(padding):
        return x
    spatial = tuple(s + 2 * p for s, p in zip(x.shape[2:], padding))
    out = xp.zeros(x.shape[:2] + spatial, x.dtype)
    copy_rows(xp, out[(slice(None), slice(None)) + _inner(padding, x.shape[2:])], x)
    return out


def _windows(xp, padded, geo: ConvGeometry):
    """The windows of an already padded (N, C, *S) array as a (C, *kernel, N, *out) view."""
    n, c = padded.shape[:2]
    s_n, s_c, *s_sp = padded.strides
    return xp.lib.stride_tricks.as_strided(
        padded,
        shape=(c, *geo.kernel, n, *geo.out_hw),
        strides=(
            s_c,
            *(s * d for s, d in zip(s_sp, geo.dilation)),
            s_n,
            *(s * st for s, st in zip(s_sp, geo.stride)),
        ),
    )


def _device_kernel(xp, name: str, geo: ConvGeometry):
    """The fused 2-D ``conv.<name>`` kernel of the device (``backend/fused/conv.py``), or None."""
    return fused.kernel(xp, "conv." + name) if len(geo.kernel) == 2 else None


def _geometry(geo: ConvGeometry) -> tuple:
    return (geo.kernel, geo.out_hw, geo.stride, geo.padding, geo.dilation)


def im2col(xp, x, geo: ConvGeometry):
    """``x`` (N, C, *S) as columns (C*prod(kernel), N*prod(out)): rows (c, i, j, ...)."""
    device = _device_kernel(xp, "im2col", geo)
    if device is not None:
        return device(x, _geometry(geo))
    windows = _windows(xp, _pad(xp, x, geo.padding), geo)
    rows = x.shape[1] * math.prod(geo.kernel)
    return contiguous(xp, windows).reshape(rows, x.shape[0] * geo.pixels)


def col2im(xp, cols, batch: int, channels: int, geo: ConvGeometry):
    """The adjoint of ``im2col``: sum columns (C*prod(kernel), N*prod(out)) into (N, C, *S)."""
    device = _device_kernel(xp, "col2im", geo)
    if device is not None:
        return device(cols, batch, channels, geo.in_hw, _geometry(geo))
    padded = tuple(s + 2 * p for s, p in zip(geo.in_hw, geo.padding))
    out = xp.zeros((channels, batch) + padded, cols.dtype)  # summed in C, N order
    blocks = cols.reshape((channels, *geo.kernel, batch, *geo.out_hw))
    for offset in itertools.product(*(range(k) for k in geo.kernel)):
        where = tuple(
            slice(i * d, i * d + s * (o - 1) + 1, s)
            for i, d, s, o in zip(offset, geo.dilation, geo.stride, geo.out_hw)
        )
        out[(slice(None), slice(None)) + where] += blocks[(slice(None),) + offset]
    out = out[(slice(None), slice(None)) + _inner(geo.padding, geo.in_hw)]
    return contiguous(xp, out.swapaxes(0, 1))


def _gemm(xp, a, b, groups: int):
    """``a @ b`` per group: a (G*M, K), b (G*K, L) -> (G*M, L); one plain GEMM when G == 1."""
    if groups == 1:
        return xp.matmul(a, b)
    m, k = a.shape[0] // groups, a.shape[1]
    out = xp.matmul(a.reshape(groups, m, k), b.reshape(groups, k, -1))
    return out.reshape(groups * m, -1)


def _per_sample(geo: ConvGeometry, rows: int) -> bool:
    """Whether to run one GEMM per sample: groups == 1 and fewer column rows than pixels."""
    return geo.groups == 1 and rows < geo.pixels


def _sample_blocks(cols, geo: ConvGeometry):
    """Columns (K, N*P) as N blocks (N, K, P): a strided view, no copy."""
    return cols.reshape(cols.shape[0], -1, geo.pixels).transpose(1, 0, 2)


def _channels_first(g):
    """(N, C, ...) -> (C, N*...), the column layout of im2col (a copy unless already laid out)."""
    return g.swapaxes(0, 1).reshape(g.shape[1], -1)


def _grad_blocks(w, groups: int):
    """Each group's weight transposed: (O, C/g, *kernel) -> (g * C/g*prod(kernel), O/g)."""
    o = w.shape[0]
    wg = w.reshape(groups, o // groups, -1)
    return wg.transpose(0, 2, 1).reshape(-1, o // groups)


def _rows_pay(geo: ConvGeometry) -> bool:
    """Whether the input gradient goes through zero-padded rows: stride 1 and ``Wp < 2*Wo``."""
    return (
        len(geo.kernel) == 2
        and geo.stride == (1, 1)
        and geo.in_hw[1] + 2 * geo.padding[1] < 2 * geo.out_hw[1]
    )


def _input_grad_rows(xp, g, w, geo: ConvGeometry, channels: int):
    """The stride-1 input gradient through zero-padded rows (see the module docstring).

    ``g`` (N, O, Ho, Wo) is copied into rows (O, N, Ho, Wp), zero past ``Wo``; one GEMM per
    group gives columns (K, N*Ho*Wp) whose block for kernel offset (i, j) adds, as one run of
    Ho*Wp elements per (c, n), into zeroed padded planes at offset ``i*dh*Wp + j*dw`` (each plane
    has ``(kw-1)*dw`` spare elements for the zeros that run past its last row).
    """
    n, o = g.shape[:2]
    (kh, kw), (ho, wo), (dh, dw) = geo.kernel, geo.out_hw, geo.dilation
    (ph, pw), (h, w_in) = geo.padding, geo.in_hw
    hp, wp = h + 2 * ph, w_in + 2 * pw
    rows = xp.zeros((o, n, ho, wp), g.dtype)
    copy_rows(xp, rows[..., :wo], g.transpose(1, 0, 2, 3))
    cols = _gemm(xp, _grad_blocks(w, geo.groups), rows.reshape(o, -1), geo.groups)
    span = ho * wp
    blocks = cols.reshape(channels, kh, kw, n, span)
    planes = xp.zeros((channels, n, hp * wp + (kw - 1) * dw), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            dest = planes[:, :, start : start + span]
            xp.add(dest, blocks[:, i, j], out=dest)
    planes = planes[:, :, : hp * wp].reshape(channels, n, hp, wp)[:, :, ph : ph + h, pw : pw + w_in]
    return contiguous(xp, planes.transpose(1, 0, 2, 3))


# Above this many column rows the weight gradient takes the one batch GEMM even where the
# forward runs per sample: ResNet-20's 16-channel 3x3 layers (K = 144, P = 1024 or 256, batch
# 64) measured 9.3 -> 6.6 ms (one BLAS thread) and 22 -> 12 ms (two), while K = 25-27 (LeNet's
# and the CIFAR nets' first layers) stays 1.7-3x faster per sample. (2026-12-04, busy machine)
_PER_SAMPLE_WEIGHT_GRAD_ROWS = 64


def _weight_grad(xp, cols, g, geo: ConvGeometry):
    """The weight gradient (O, K/groups) from the columns of x and the (N, O, P) output gradient."""
    o, groups = g.shape[1], geo.groups
    rows = cols.shape[0]
    if rows <= _PER_SAMPLE_WEIGHT_GRAD_ROWS and _per_sample(geo, rows):
        # N products (O, P) @ (P, K), g read as it is (NCHW)
        return xp.matmul(g, _sample_blocks(cols, geo).transpose(0, 2, 1)).sum(0)
    g2 = _channels_first(g)  # (O, n*P)
    # cols @ g2.T (long inner dim on the right-hand side's rows) is several times faster in
    # OpenBLAS than the equal g2 @ cols.T
    k, m = cols.shape[0] // groups, o // groups
    dw = xp.empty((groups, m, k), g2.dtype)
    for i in range(groups):  # 2-D products: NumPy's stacked matmul misses BLAS for this layout
        dw[i] = xp.matmul(cols[i * k : (i + 1) * k], g2[i * m : (i + 1) * m].T).T
    return dw.reshape(o, k)


# Channels-last GEMMs (``ops/conv_nhwc.py``), CPU only, groups 1, 2-D, chosen per layer shape by
# measurement (one BLAS thread, batch 64; BENCHMARKS.md, "Convolutions, second attempt"):
# at most this many column rows (K = C*kh*kw) the NCHW per-sample GEMM stays faster (K = 25-27:
# LeNet's and the CIFAR nets' first layers), and below this many output channels the GEMM's
# (K, O) right-hand side is too narrow (an input gradient into 3 channels ran 4.1 -> 5.5 ms).
_NHWC_MIN_ROWS = 64
_NHWC_MIN_OUT_CHANNELS = 16
_NHWC_FORWARD = {"shifted": conv_nhwc.forward_shifted, "columns": conv_nhwc.forward_columns}


def _nhwc_path(xp, geo: ConvGeometry, rows: int, out_channels: int):
    """The channels-last forward for a layer shape: ``"shifted"``, ``"columns"`` or None.

    Stride 1 with fewer column rows than pixels (16 -> 16 channels on 32x32: 17.5 -> 9.0 ms)
    takes the shifted rows; any other layer the NCHW path would run as one batch GEMM takes
    channels-last columns (32 -> 32 on 16x16: 9.7 -> 7.5 ms; 64 -> 64 on 8x8: 5.9 -> 5.1 ms).
    """
    if (
        geo.groups != 1
        or len(geo.kernel) != 2
        or rows <= _NHWC_MIN_ROWS
        or out_channels < _NHWC_MIN_OUT_CHANNELS
        or backend.for_xp(xp).name != "cpu"
    ):
        return None
    if rows < geo.pixels:
        return "shifted" if geo.stride == (1, 1) else None
    return "columns"


def _flipped_geometry(xp, geo: ConvGeometry, out_channels: int, in_channels: int):
    """For a stride-1 input gradient, the channels-last path and geometry of the equal forward
    convolution of the output gradient with the flipped, transposed weight; else None.

    Only for layers that do not widen (in_channels >= out_channels): the convnet's 32 -> 64 on
    16x16 measured 17.2 (NCHW) against 20.2 ms (either channels-last path), its whole step
    124 -> 132 ms, while ResNet-20's 16 -> 16, 32 -> 32 and 64 -> 64 gain 25-40%.
    """
    if len(geo.kernel) != 2 or geo.stride != (1, 1) or geo.groups != 1 or in_channels < out_channels:
        return None
    padding = tuple(d * (k - 1) - p for d, k, p in zip(geo.dilation, geo.kernel, geo.padding))
    if min(padding) < 0:
        return None
    flipped = ConvGeometry((1, 1), padding, geo.dilation, 1, geo.kernel, geo.out_hw, geo.in_hw)
    path = _nhwc_path(xp, flipped, out_channels * math.prod(geo.kernel), in_channels)
    return None if path is None else (path, flipped)


def _in_input_dtype(forward):
    """ml_dtypes' bfloat16 GEMMs answer in float32: the result goes back to the first input's dtype."""

    @functools.wraps(forward)
    def wrapped(ctx, first, *rest):
        out = forward(ctx, first, *rest)
        return out if out.dtype == first.dtype else out.astype(first.dtype)

    return wrapped


class Conv2d(Primitive):
    """``conv2d(x, w, b)`` with x (N, C, H, W), w (O, C/groups, kh, kw), b (O,) or None.

    Inputs with one or three spatial dims run the same code (``conv3d``).
    """

    op_name = "conv2d"

    @staticmethod
    @_in_input_dtype
    def forward(ctx, x, w, b, geo: ConvGeometry):
        xp = ctx.xp
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        path = _nhwc_path(xp, geo, x.shape[1] * math.prod(geo.kernel), w.shape[0])
        if path is not None:
            return _NHWC_FORWARD[path](xp, x, w, b, geo)
        cols = im2col(xp, x, geo)  # (K, N*P), not kept: the weight gradient makes its own
        n, o = x.shape[0], w.shape[0]
        w2 = w.reshape(o, -1)
        if _per_sample(geo, cols.shape[0]):
            out = xp.matmul(w2, _sample_blocks(cols, geo))  # (N, O, P): NCHW
            if b is not None:
                out += b.reshape(-1, 1)
            return out.reshape((n, o) + geo.out_hw)
        nchw = _gemm(xp, w2, cols, geo.groups).reshape((o, n) + geo.out_hw).swapaxes(0, 1)
        out = xp.empty(nchw.shape, nchw.dtype)
        if b is None:
            out[...] = nchw
        else:
            xp.add(nchw, b.reshape((1, -1) + (1,) * len(geo.out_hw)), out=out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b, _ = ctx.needs_input_grad
        geo = ctx.geo
        grad_x = Conv2dInputGrad.apply(grad, w, geo, x.shape[1]) if need_x else None
        grad_w = Conv2dWeightGrad.apply(x, grad, geo, tuple(w.shape)) if need_w else None
        grad_b = grad.sum((0,) + tuple(range(2, grad.dim()))) if need_b else None
        return grad_x, grad_w, grad_b, None


class Conv2dInputGrad(Primitive):
    """The gradient of conv2d in its input: (g, w) -> dx; also the forward of conv_transpose2d."""

    op_name = "conv_transpose2d"

    @staticmethod
    @_in_input_dtype
    def forward(ctx, g, w, geo: ConvGeometry, in_channels: int):
        xp = ctx.xp
        ctx.save_for_backward(g, w)
        ctx.geo, ctx.in_channels = geo, in_channels
        flipped = _flipped_geometry(xp, geo, g.shape[1], in_channels)
        if flipped is not None:
            path, geo_t = flipped
            w_t = w[:, :, ::-1, ::-1].swapaxes(0, 1)  # (C, O, kh, kw), flipped
            return _NHWC_FORWARD[path](xp, g, w_t, None, geo_t)
        if _rows_pay(geo) and _device_kernel(xp, "col2im", geo) is None:
            return _input_grad_rows(xp, g, w, geo, in_channels)
        cols = _gemm(xp, _grad_blocks(w, geo.groups), _channels_first(g), geo.groups)  # (K, N*P)
        return col2im(xp, cols, g.shape[0], in_channels, geo)

    @staticmethod
    def backward(ctx, grad):
        g, w = ctx.saved_tensors
        geo = ctx.geo
        need_g, need_w = ctx.needs_input_grad[:2]
        grad_g = Conv2d.apply(grad, w, None, geo) if need_g else None
        grad_w = Conv2dWeightGrad.apply(grad, g, geo, tuple(w.shape)) if need_w else None
        return grad_g, grad_w, None, None


class Conv2dWeightGrad(Primitive):
    """The gradient of conv2d in its weight: (x, g) -> dw, from a fresh im2col of ``x``."""

    op_name = "conv2d_weight_grad"

    @staticmethod
    @_in_input_dtype
    def forward(ctx, x, g, geo: ConvGeometry, w_shape: tuple):
        xp = ctx.xp
        ctx.save_for_backward(x, g)
        ctx.geo, ctx.w_shape = geo, w_shape
        g3 = g.reshape(g.shape[0], w_shape[0], geo.pixels)
        dw = _weight_grad(xp, im2col(xp, x, geo), g3, geo)
        return dw.reshape(w_shape)

    @staticmethod
    def backward(ctx, grad):
        x, g = ctx.saved_tensors
        geo = ctx.geo
        need_x, need_g = ctx.needs_input_grad[:2]
        grad_x = Conv2dInputGrad.apply(g, grad, geo, x.shape[1]) if need_x else None
        grad_g = Conv2d.apply(x, grad, None, geo) if need_g else None
        return grad_x, grad_g, None, None


class Im2Col(Primitive):
    """``unfold``: (N, C, H, W) -> (N, C*kh*kw, L), sliding blocks as columns (groups=1)."""

    op_name = "unfold"

    @staticmethod
    def forward(ctx, x, geo: ConvGeometry):
        ctx.geo, ctx.channels = geo, x.shape[1]
        cols = im2col(ctx.xp, x, geo)  # (C*kh*kw, N*L)
        n = x.shape[0]
        return ctx.xp.ascontiguousarray(cols.reshape(cols.shape[0], n, -1).transpose(1, 0, 2))

    @staticmethod
    def backward(ctx, grad):
        return Col2Im.apply(grad, ctx.geo, ctx.channels), None


class Col2Im(Primitive):
    """``fold``: (N, C*kh*kw, L) -> (N, C, H, W), summing overlapping blocks; adjoint of unfold."""

    op_name = "fold"

    @staticmethod
    def forward(ctx, cols, geo: ConvGeometry, channels: int):
        ctx.geo = geo
        n, rows = cols.shape[:2]
        return col2im(ctx.xp, cols.transpose(1, 0, 2).reshape(rows, -1), n, channels, geo)

    @staticmethod
    def backward(ctx, grad):
        return Im2Col.apply(grad, ctx.geo), None, None


def pad_index(xp, size: int, before: int, after: int, mode: str):
    """Source positions of a padded axis of length ``before + size + after`` for a padding mode."""
    pos = xp.arange(-before, size + after)
    if mode == "reflect":
        period = 2 * (size - 1) if size > 1 else 1
        pos = xp.abs(pos) % period
        return xp.where(pos >= size, period - pos, pos)
    if mode == "replicate":
        return xp.clip(pos, 0, size - 1)
    return pos % size  # circular


class IndexPad(Primitive):
    """Pad the trailing dims by reading source positions (reflect, replicate or circular).

    ``pads`` is ``((before, after), ...)`` for the last ``len(pads)`` dims, outermost first.
    """

    op_name = "pad"

    @staticmethod
    def forward(ctx, x, pads: tuple, mode: str):
        xp = ctx.xp
        ctx.pads, ctx.mode, ctx.shape = pads, mode, x.shape
        first = x.ndim - len(pads)
        out = x
        for i, (before, after) in enumerate(pads):
            if before or after:
                out = xp.take(out, pad_index(xp, x.shape[first + i], before, after, mode), axis=first + i)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, grad):
        return IndexPadAdjoint.apply(grad, ctx.pads, ctx.mode, ctx.shape), None, None


class IndexPadAdjoint(Primitive):
    """The adjoint of ``IndexPad``: fold the padded border's gradient back onto its sources."""

    op_name = "pad_backward"

    @staticmethod
    def forward(ctx, g, pads: tuple, mode: str, shape: tuple):
        xp = ctx.xp
        ctx.pads, ctx.mode = pads, mode
        first = g.ndim - len(pads)
        out = g
        for i, (before, after) in enumerate(pads):
            if not (before or after):
                continue
            axis, size = first + i, shape[first + i]
            lead = (slice(None),) * axis
            src = pad_index(xp, size, before, after, mode)
            folded = out[lead + (slice(before, before + size),)].copy()
            for part in (slice(0, before), slice(before + size, before + size + after)):
                xp.add.at(folded, lead + (src[part],), out[lead + (part,)])
            out = folded
        return out if out is not g else g.copy()

    @staticmethod
    def backward(ctx, grad):
        return IndexPad.apply(grad, ctx.pads, ctx.mode), None, None, None
