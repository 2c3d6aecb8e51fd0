"""Discrete Fourier transforms over chosen dims, on the backend's ``xp.fft``.

Three primitives cover ``torch.fft``: complex-to-complex (``C2C``), real-to-onesided-complex
(``R2C``) and its inverse (``C2R``); padding and trimming to ``n``/``s`` happen before them, in
differentiable ops. The adjoint of a transform under norm ``m`` is the opposite-direction
transform under the dual norm (backward <-> forward, ortho <-> ortho), which gives every backward
below; ``C2R``'s adjoint also doubles the bins that stand for two conjugate ones.
"""

from __future__ import annotations

from ember.ops import Primitive

DUAL_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _complex_dtype(xp, dtype):
    """complex128 for float64/complex128 inputs, complex64 otherwise (as PyTorch)."""
    return xp.complex128 if dtype in (xp.float64, xp.complex128) else xp.complex64


class C2C(Primitive):
    """``fftn`` (``forward=True``) or ``ifftn`` of a complex array over ``dims``."""

    op_name = "fft"

    @staticmethod
    def forward(ctx, a, dims, norm, forward):
        ctx.dims, ctx.norm, ctx.forward_direction = dims, norm, forward
        fft = ctx.xp.fft.fftn if forward else ctx.xp.fft.ifftn
        return fft(a, axes=dims, norm=norm).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return (C2C.apply(grad, ctx.dims, DUAL_NORM[ctx.norm], not ctx.forward_direction), None, None, None)


class R2C(Primitive):
    """``rfftn`` of a real array over ``dims`` (the last dim is halved: ``n // 2 + 1`` bins)."""

    op_name = "rfft"

    @staticmethod
    def forward(ctx, a, dims, norm):
        ctx.dims, ctx.norm, ctx.n = dims, norm, a.shape[dims[-1]]
        out = ctx.xp.fft.rfftn(a, axes=dims, norm=norm)
        return out.astype(_complex_dtype(ctx.xp, a.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        from ember.methods.join import cat

        last = ctx.dims[-1]
        missing = ctx.n - grad.shape[last]
        shape = list(grad.shape)
        shape[last] = missing
        full = cat([grad, grad.new_zeros(tuple(shape))], last) if missing else grad
        return C2C.apply(full, ctx.dims, DUAL_NORM[ctx.norm], False).real, None, None


class C2R(Primitive):
    """``irfftn`` of a onesided complex array over ``dims`` to ``n`` real points on the last."""

    op_name = "irfft"

    @staticmethod
    def forward(ctx, a, dims, norm, n):
        ctx.dims, ctx.norm, ctx.bins = dims, norm, a.shape[dims[-1]]
        xp = ctx.xp
        shape = [a.shape[d] for d in dims[:-1]] + [n]
        out = xp.fft.irfftn(a, s=shape, axes=dims, norm=norm)
        return out.astype(xp.float64 if a.dtype == xp.complex128 else xp.float32, copy=False)

    @staticmethod
    def backward(ctx, grad):
        last = ctx.dims[-1]
        spectrum = R2C.apply(grad, ctx.dims, DUAL_NORM[ctx.norm])
        doubled = grad.shape[last] - ctx.bins  # bins 1..doubled stand for a conjugate pair each
        if doubled > 0:
            xp = grad.xp
            weight = xp.ones(ctx.bins, dtype=grad._data.dtype)
            weight[1 : 1 + doubled] = 2
            shape = [1] * grad.ndim
            shape[last] = ctx.bins
            spectrum = spectrum * grad._wrap_like(weight.reshape(shape))
        return spectrum, None, None, None
