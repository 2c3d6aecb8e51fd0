"""2-D convolution primitives by im2col and one large matrix product (1-D calls these with H=1).

Three linear primitives close under differentiation, so every order of gradient works:

* ``Conv2d(x, w, b)``: the convolution (bias optional);
* ``Conv2dInputGrad(g, w)``: its adjoint in the input (``conv_transpose2d`` is this op);
* ``Conv2dWeightGrad(x, g)``: its adjoint in the weight.

Layout: im2col reads the padded input through a strided window view and copies it once into a
``(C*kh*kw, N*Ho*Wo)`` matrix, rows in weight order (c, i, j), columns in (n, ho, wo) order. The
whole batch is then one GEMM per group, ``(O, K) @ (K, N*P)``: a batched matmul of N small
products was ~10x slower with a threaded BLAS. The ``(O, N*P)`` result is transposed into NCHW in
the same pass that adds the bias. Conv2d keeps its columns for the weight gradient, which then
costs one GEMM and no second im2col. Python loops run over kernel offsets only (col2im), never
over pixels.
"""

from __future__ import annotations

from ember.ops import Primitive


class ConvGeometry:
    """Sizes of one convolution: stride, padding, dilation, groups, kernel and spatial dims."""

    __slots__ = ("dilation", "groups", "in_hw", "kernel", "out_hw", "padding", "stride")

    def __init__(self, stride, padding, dilation, groups, kernel, in_hw, out_hw=None):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.kernel, self.in_hw = kernel, in_hw
        if out_hw is None:
            out_hw = tuple(
                (in_hw[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                for i in range(2)
            )
        self.out_hw = out_hw


def _pad(xp, x, padding):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    out[:, :, ph: ph + h, pw: pw + w] = x
    return out


def im2col(xp, x, geo: ConvGeometry):
    """``x`` (N, C, H, W) as columns (C*kh*kw, N*Ho*Wo): rows (c, i, j), columns (n, ho, wo)."""
    x = _pad(xp, x, geo.padding)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    s_n, s_c, s_h, s_w = x.strides
    windows = xp.lib.stride_tricks.as_strided(
        x, shape=(c, kh, kw, n, ho, wo),
        strides=(s_c, s_h * geo.dilation[0], s_w * geo.dilation[1], s_n, s_h * geo.stride[0],
                 s_w * geo.stride[1]),
    )
    return windows.reshape(c * kh * kw, n * ho * wo)


def col2im(xp, cols, batch: int, channels: int, geo: ConvGeometry):
    """The adjoint of ``im2col``: sum columns (C*kh*kw, N*Ho*Wo) back into (N, C, H, W)."""
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    (sh, sw), (dh, dw), (ph, pw) = geo.stride, geo.dilation, geo.padding
    h, w = geo.in_hw
    out = xp.zeros((channels, batch, h + 2 * ph, w + 2 * pw), cols.dtype)  # summed in C, N order
    blocks = cols.reshape(channels, kh, kw, batch, ho, wo)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            out[:, :, rows, j * dw: j * dw + sw * (wo - 1) + 1: sw] += blocks[:, i, j]
    out = out[:, :, ph: ph + h, pw: pw + w]
    return xp.ascontiguousarray(out.transpose(1, 0, 2, 3))


def _gemm(xp, a, b, groups: int):
    """``a @ b`` per group: a (G*M, K), b (G*K, L) -> (G*M, L); one plain GEMM when G == 1."""
    if groups == 1:
        return xp.matmul(a, b)
    m, k = a.shape[0] // groups, a.shape[1]
    out = xp.matmul(a.reshape(groups, m, k), b.reshape(groups, k, -1))
    return out.reshape(groups * m, -1)


def _channels_first(g):
    """(N, C, H, W) -> (C, N*H*W), the column layout of im2col (a copy unless already laid out)."""
    _n, c = g.shape[:2]
    return g.transpose(1, 0, 2, 3).reshape(c, -1)


def _grad_blocks(w, groups: int):
    """Each group's weight transposed: (O, C/g, kh, kw) -> (g * C/g*kh*kw, O/g)."""
    o = w.shape[0]
    wg = w.reshape(groups, o // groups, -1)
    return wg.transpose(0, 2, 1).reshape(-1, o // groups)


class Conv2d(Primitive):
    """``conv2d(x, w, b)`` with x (N, C, H, W), w (O, C/groups, kh, kw), b (O,) or None."""

    op_name = "conv2d"

    @staticmethod
    def forward(ctx, x, w, b, geo: ConvGeometry):
        xp = ctx.xp
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        cols = im2col(xp, x, geo)
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            ctx.cols = cols  # reused by the weight gradient
        o, n = w.shape[0], x.shape[0]
        out2 = _gemm(xp, w.reshape(o, -1), cols, geo.groups)  # (O, N*Ho*Wo)
        nchw = out2.reshape(o, n, *geo.out_hw).transpose(1, 0, 2, 3)
        out = xp.empty(nchw.shape, out2.dtype)
        if b is None:
            out[...] = nchw
        else:
            xp.add(nchw, b.reshape(1, -1, 1, 1), out=out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b, _ = ctx.needs_input_grad
        geo = ctx.geo
        grad_x = Conv2dInputGrad.apply(grad, w, geo, x.shape[1]) if need_x else None
        grad_w = None
        if need_w:
            grad_w = Conv2dWeightGrad.apply(x, grad, geo, tuple(w.shape), cols=ctx.cols)
            ctx.cols = None
        grad_b = grad.sum((0, 2, 3)) if need_b else None
        return grad_x, grad_w, grad_b, None


class Conv2dInputGrad(Primitive):
    """The gradient of conv2d in its input: (g, w) -> dx; also the forward of conv_transpose2d."""

    op_name = "conv_transpose2d"

    @staticmethod
    def forward(ctx, g, w, geo: ConvGeometry, in_channels: int):
        xp = ctx.xp
        ctx.save_for_backward(g, w)
        ctx.geo, ctx.in_channels = geo, in_channels
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
    """The gradient of conv2d in its weight: (x, g) -> dw; ``cols`` reuses the forward's im2col."""

    op_name = "conv2d_weight_grad"

    @staticmethod
    def forward(ctx, x, g, geo: ConvGeometry, w_shape: tuple, cols=None):
        xp = ctx.xp
        ctx.save_for_backward(x, g)
        ctx.geo, ctx.w_shape = geo, w_shape
        if cols is None:
            cols = im2col(xp, x, geo)
        groups, o = geo.groups, w_shape[0]
        g2 = _channels_first(g)  # (O, N*P)
        # cols @ g2.T (long inner dim on the right-hand side's rows) is several times faster in
        # OpenBLAS than the equal g2 @ cols.T
        k, m = cols.shape[0] // groups, o // groups
        dw = xp.empty((groups, m, k), g2.dtype)
        for i in range(groups):  # 2-D products: NumPy's stacked matmul misses BLAS for this layout
            dw[i] = xp.matmul(cols[i * k: (i + 1) * k], g2[i * m: (i + 1) * m].T).T
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
