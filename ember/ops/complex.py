"""Complex-number primitives: real and imaginary parts, conjugate, angle, views as pairs.

Gradients follow PyTorch's convention for a real loss L of a complex z = x + iy: the gradient
is ``dL/dx + i dL/dy``, so a holomorphic f passes ``grad * conj(f'(z))`` back and the gradient
of a real input is the real part of what reaches it.
"""

from __future__ import annotations

import math

from ember.dtypes import is_floating_np
from ember.ops import Primitive


def conj(x):
    """The conjugate of a Tensor or a number (itself when real)."""
    if hasattr(x, "_data"):
        return x.conj() if x._data.dtype.kind == "c" else x
    return x.conjugate() if isinstance(x, complex) else x


def _complex_of(real_np_dtype):
    return "complex128" if real_np_dtype.itemsize == 8 else "complex64"


class Real(Primitive):
    op_name = "real"

    @staticmethod
    def forward(ctx, a):
        ctx.np_dtype = _complex_of(a.real.dtype)
        return a.real.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad._cast(ctx.np_dtype)


class Imag(Primitive):
    op_name = "imag"

    @staticmethod
    def forward(ctx, a):
        ctx.np_dtype = _complex_of(a.real.dtype)
        return a.imag.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad._cast(ctx.np_dtype) * 1j


class Conj(Primitive):
    op_name = "conj"

    @staticmethod
    def forward(ctx, a):
        return ctx.xp.conj(a)

    @staticmethod
    def backward(ctx, grad):
        return conj(grad)


class Angle(Primitive):
    """The argument of complex numbers (0 or pi for real ones, with a zero gradient there)."""

    op_name = "angle"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        xp = ctx.xp
        if is_floating_np(a.dtype):  # pi for negative numbers; 0 for -0.0 too, as in PyTorch
            return xp.where(a < 0, a.dtype.type(math.pi), xp.where(xp.isnan(a), a, 0)).astype(a.dtype)
        return xp.angle(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if a._data.dtype.kind != "c":
            return grad * 0
        # d angle = (x dy - y dx) / |z|^2, so the gradient is grad * i z / |z|^2
        return grad * 1j * a / (a.real * a.real + a.imag * a.imag)


class ViewAsReal(Primitive):
    """Complex ``(...)`` as real ``(..., 2)`` pairs (a copy in ember, not a view)."""

    op_name = "view_as_real"

    @staticmethod
    def forward(ctx, a):
        return ctx.xp.stack([a.real, a.imag], -1)

    @staticmethod
    def backward(ctx, grad):
        return ViewAsComplex.apply(grad)


class ViewAsComplex(Primitive):
    """Real ``(..., 2)`` pairs as complex ``(...)`` (a copy in ember, not a view)."""

    op_name = "view_as_complex"

    @staticmethod
    def forward(ctx, a):
        if a.ndim == 0 or a.shape[-1] != 2:
            raise RuntimeError(
                f"view_as_complex: Tensor must have a last dimension of size 2, got shape {list(a.shape)}"
            )
        if a.dtype.kind != "f" or a.dtype.itemsize < 4:
            raise RuntimeError(f"view_as_complex: expected float32 or float64, got {a.dtype}")
        out = a[..., 0].astype(_complex_of(a.dtype))
        out.imag = a[..., 1]
        return out

    @staticmethod
    def backward(ctx, grad):
        return ViewAsReal.apply(grad)
