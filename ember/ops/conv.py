"""2-D convolution primitives by im2col and batched matrix products (1-D calls these with H=1).

Three linear primitives close under differentiation, so every order of gradient works:

* ``Conv2d(x, w, b)``: the convolution (bias optional);
* ``Conv2dInputGrad(g, w)``: its adjoint in the input (``conv_transpose2d`` is this op);
* ``Conv2dWeightGrad(x, g)``: its adjoint in the weight.

im2col reads the padded input through a strided window view and lets the array module copy it
into a ``(N, groups, C/groups * kh * kw, Ho * Wo)`` block once; the products are then one batched
matmul, with output already in NCHW order. Python loops run over kernel offsets only (col2im),
never over pixels.
"""

from __future__ import annotations

from ember.ops import Primitive


class ConvGeometry:
    """Sizes of one convolution: stride, padding, dilation, groups, kernel and spatial dims."""

    __slots__ = ("stride", "padding", "dilation", "groups", "kernel", "in_hw", "out_hw")

    def __init__(self, stride, padding, dilation, groups, kernel, in_hw, out_hw=None):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.kernel, self.in_hw = kernel, in_hw
        if out_hw is None:
            out_hw = tuple(
                (in_hw[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                for i in range(2)
            )
        self.out_hw = out_hw

    def with_input(self, in_hw) -> ConvGeometry:
        return ConvGeometry(self.stride, self.padding, self.dilation, self.groups, self.kernel, in_hw)


def _pad(xp, x, padding):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def im2col(xp, x, geo: ConvGeometry):
    """``x`` (N, C, H, W) as columns (N, groups, C/groups*kh*kw, Ho*Wo), in weight order (c, i, j)."""
    x = _pad(xp, x, geo.padding)
    n, c = x.shape[:2]
    kh, kw = geo.kernel
    ho, wo = geo.out_hw
    s_n, s_c, s_h, s_w = x.strides
    windows = xp.lib.stride_tricks.as_strided(
        x, shape=(n, c, kh, kw, ho, wo),
        strides=(s_n, s_c, s_h * geo.dilation[0], s_w * geo.dilation[1], s_h * geo.stride[0], s_w * geo.stride[1]),
    )
    g = geo.groups
    return windows.reshape(n, g, (c // g) * kh * kw, ho * wo)


def col2im(xp, cols, channels: int, geo: ConvGeometry):
    """The adjoint of ``im2col``: sum columns (N, groups, C/groups*kh*kw, Ho*Wo) back into (N, C, H, W)."""
    n = cols.shape[0]
    kh, kw = geo.kernel
    ho, wo = geo.out_hw
    (sh, sw), (dh, dw), (ph, pw) = geo.stride, geo.dilation, geo.padding
    h, w = geo.in_hw
    out = xp.zeros((n, channels, h + 2 * ph, w + 2 * pw), cols.dtype)
    blocks = cols.reshape(n, channels, kh, kw, ho, wo)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw] += blocks[:, :, i, j]
    if ph or pw:
        out = out[:, :, ph: ph + h, pw: pw + w]
    return out


def _grouped_weight(w, groups: int):
    out_channels = w.shape[0]
    return w.reshape(groups, out_channels // groups, -1)


class Conv2d(Primitive):
    """``conv2d(x, w, b)`` with x (N, C, H, W), w (O, C/groups, kh, kw), b (O,) or None."""

    op_name = "conv2d"

    @staticmethod
    def forward(ctx, x, w, b, geo: ConvGeometry):
        xp = ctx.xp
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        cols = im2col(xp, x, geo)
        out = xp.matmul(_grouped_weight(w, geo.groups), cols)
        n = x.shape[0]
        out = out.reshape(n, w.shape[0], *geo.out_hw)
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b, _ = ctx.needs_input_grad
        geo = ctx.geo
        grad_x = Conv2dInputGrad.apply(grad, w, geo, x.shape[1]) if need_x else None
        grad_w = Conv2dWeightGrad.apply(x, grad, geo, tuple(w.shape)) if need_w else None
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
        n, groups = g.shape[0], geo.groups
        wg = _grouped_weight(w, groups)  # (groups, O/g, K)
        gg = g.reshape(n, groups, w.shape[0] // groups, -1)  # (N, groups, O/g, P)
        cols = xp.matmul(wg.transpose(0, 2, 1), gg)  # (N, groups, K, P)
        return col2im(xp, cols, in_channels, geo)

    @staticmethod
    def backward(ctx, grad):
        g, w = ctx.saved_tensors
        geo = ctx.geo
        need_g, need_w = ctx.needs_input_grad[:2]
        grad_g = Conv2d.apply(grad, w, None, geo) if need_g else None
        grad_w = Conv2dWeightGrad.apply(grad, g, geo, tuple(w.shape)) if need_w else None
        return grad_g, grad_w, None, None


class Conv2dWeightGrad(Primitive):
    """The gradient of conv2d in its weight: (x, g) -> dw."""

    op_name = "conv2d_weight_grad"

    @staticmethod
    def forward(ctx, x, g, geo: ConvGeometry, w_shape: tuple):
        xp = ctx.xp
        ctx.save_for_backward(x, g)
        ctx.geo, ctx.w_shape = geo, w_shape
        cols = im2col(xp, x, geo)  # (N, groups, K, P)
        n, groups = x.shape[0], geo.groups
        gg = g.reshape(n, groups, w_shape[0] // groups, -1)  # (N, groups, O/g, P)
        dw = xp.matmul(gg, cols.transpose(0, 1, 3, 2)).sum(axis=0)  # (groups, O/g, K)
        return dw.reshape(w_shape)

    @staticmethod
    def backward(ctx, grad):
        x, g = ctx.saved_tensors
        geo = ctx.geo
        need_x, need_g = ctx.needs_input_grad[:2]
        grad_x = Conv2dInputGrad.apply(g, grad, geo, x.shape[1]) if need_x else None
        grad_g = Conv2d.apply(x, grad, None, geo) if need_g else None
        return grad_x, grad_g, None, None
