"""Special functions beyond the error function: gamma family, Bessel functions, normal
distribution functions, Hurwitz zeta and orthogonal polynomials.

Kernels come from the backend's ``scipy.special``-like module (``backend.special_module``):
SciPy on the CPU, ``cupyx.scipy.special`` on CUDA. ``lgamma`` and ``digamma`` also have a NumPy
fallback here (Lanczos; recurrence plus asymptotic series), so the most used two work without
SciPy. Gradients are those PyTorch has; the others raise as PyTorch does.
"""

from __future__ import annotations

import math

from ember import backend
from ember.ops import Primitive
from ember.ops.elementwise import _quiet

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
_INV_SQRT_TWO_PI = 1 / math.sqrt(2 * math.pi)
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _optional_library(xp):
    try:
        return backend.special_module(xp)
    except ImportError:
        return None


def _kernel(xp, name: str):
    library = backend.special_module(xp)
    fn = getattr(library, name, None)
    if fn is None:
        raise RuntimeError(
            f"{name}: the backend's special-function module ({library.__name__}) has no kernel {name!r}"
        )
    return fn


def _lgamma_native(xp, x):
    """log|Gamma(x)|: Lanczos (g = 7) for x >= 0.5, the reflection formula below."""
    x = x.astype(xp.float64)
    reflect = x < 0.5
    z = xp.where(reflect, 1 - x, x) - 1
    series = xp.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        series += c / (z + i)
    t = z + 7.5
    value = _HALF_LOG_TWO_PI + (z + 0.5) * xp.log(t) - t + xp.log(series)
    with _quiet(xp):
        reflected = math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * x))) - value
    return xp.where(reflect, reflected, value)


def _digamma_native(xp, x):
    """psi(x): reflection below 0.5, recurrence up to 10, then the asymptotic series."""
    x = x.astype(xp.float64)
    reflect = x < 0.5
    with _quiet(xp):
        shift = xp.where(reflect, math.pi / xp.tan(math.pi * x), 0.0)
    y = xp.where(reflect, 1 - x, x)
    acc = xp.zeros_like(y)
    for _ in range(10):
        small = y < 10
        acc -= xp.where(small, 1 / y, 0.0)
        y = xp.where(small, y + 1, y)
    inv2 = 1 / (y * y)
    tail = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    value = xp.log(y) - 0.5 / y - tail + acc
    with _quiet(xp):
        value = xp.where(reflect, value - shift, value)
        return xp.where((x <= 0) & (x == xp.floor(x)), xp.nan, value)


def _unary(xp, name: str, a):
    return _kernel(xp, name)(a).astype(a.dtype, copy=False)


class _Unary(Primitive):
    """``f(a)`` from the backend's kernel ``kernel``; backward is ``grad * derivative(a, out)``."""

    kernel = ""

    @classmethod
    def forward(cls, ctx, a):
        with _quiet(ctx.xp):
            out = cls.compute(ctx.xp, a)
        ctx.save_for_backward(a, out)
        return out

    @classmethod
    def compute(cls, xp, a):
        return _unary(xp, cls.kernel, a)

    @classmethod
    def backward(cls, ctx, grad):
        a, out = ctx.saved_tensors
        return grad * cls.derivative(a, out)

    @staticmethod
    def derivative(a, out):
        raise NotImplementedError


class _NoGrad(_Unary):
    """A function PyTorch gives no derivative; backward says so."""

    @classmethod
    def backward(cls, ctx, grad):
        raise RuntimeError(f"the derivative for '{cls.op_name}' is not implemented (as in PyTorch)")


class Lgamma(_Unary):
    op_name = "lgamma"

    @classmethod
    def compute(cls, xp, a):
        library = _optional_library(xp)
        if library is not None:
            return library.gammaln(a).astype(a.dtype, copy=False)
        return _lgamma_native(xp, a).astype(a.dtype)

    derivative = staticmethod(lambda a, out: Digamma.apply(a))


class Digamma(_Unary):
    op_name = "digamma"

    @classmethod
    def compute(cls, xp, a):
        library = _optional_library(xp)
        if library is not None:
            kernel = getattr(library, "digamma", None) or library.psi
            out = kernel(a).astype(a.dtype, copy=False)
            return xp.where(a == 0, -xp.inf, out).astype(a.dtype, copy=False)  # digamma(0) = -inf
        return _digamma_native(xp, a).astype(a.dtype)

    derivative = staticmethod(lambda a, out: Polygamma.apply(a, 1))


class Polygamma(Primitive):
    """The n-th derivative of digamma (n = 0 is digamma itself)."""

    op_name = "polygamma"

    @staticmethod
    def forward(ctx, a, n):
        ctx.n = n
        ctx.save_for_backward(a)
        if n == 0:
            return Digamma.compute(ctx.xp, a)
        with _quiet(ctx.xp):
            # CuPy's polygamma wants n as an array, SciPy's takes either
            return _kernel(ctx.xp, "polygamma")(ctx.xp.asarray(n), a).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Polygamma.apply(a, ctx.n + 1), None


class Gammainc(Primitive):
    """The regularized lower (``upper=False``) or upper incomplete gamma P(a, x) or Q(a, x)."""

    op_name = "gammainc"

    @staticmethod
    def forward(ctx, a, x, upper):
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        name = "gammaincc" if upper else "gammainc"
        with _quiet(ctx.xp):
            return _kernel(ctx.xp, name)(a, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError(
                "the derivative of igamma/gammainc with respect to its first "
                "argument (a) is not implemented (as in PyTorch)"
            )
        density = ((a - 1) * x.log() - x - Lgamma.apply(a)).exp()
        return None, (-grad * density if ctx.upper else grad * density), None


class Zeta(Primitive):
    """The Hurwitz zeta function ``sum_k (k + q)^-x``."""

    op_name = "zeta"

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        with _quiet(ctx.xp):
            return _kernel(ctx.xp, "zeta")(x, q).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError("the derivative of zeta with respect to x is not implemented (as in PyTorch)")
        return None, -grad * x * Zeta.apply(x + 1, q)


class Erfcx(_Unary):
    op_name, kernel = "erfcx", "erfcx"
    derivative = staticmethod(lambda a, out: 2 * a * out - 2 / math.sqrt(math.pi))


class I0(_Unary):
    op_name, kernel = "i0", "i0"
    derivative = staticmethod(lambda a, out: I1.apply(a))


class I0e(_Unary):
    op_name, kernel = "i0e", "i0e"
    derivative = staticmethod(lambda a, out: I1e.apply(a) - a.sign() * out)


class I1(_Unary):
    op_name, kernel = "i1", "i1"

    @staticmethod
    def derivative(a, out):
        safe = a.where(a != 0, a.new_ones(()))
        return (I0.apply(a) - out / safe).where(a != 0, a.new_full((), 0.5))


class I1e(_Unary):
    op_name, kernel = "i1e", "i1e"

    @staticmethod
    def derivative(a, out):
        safe = a.where(a != 0, a.new_ones(()))
        return (I0e.apply(a) - out * (a.sign() + 1 / safe)).where(a != 0, a.new_full((), 0.5))


class Ndtri(_Unary):
    op_name, kernel = "ndtri", "ndtri"
    derivative = staticmethod(lambda a, out: (out * out / 2).exp() * math.sqrt(2 * math.pi))


class LogNdtr(_Unary):
    op_name, kernel = "log_ndtr", "log_ndtr"
    derivative = staticmethod(lambda a, out: (-(a * a) / 2 - out).exp() * _INV_SQRT_TWO_PI)


def _no_grad_kernel(name: str, kernel: str, compute=None):
    attrs = {"op_name": name, "kernel": kernel}
    if compute is not None:
        attrs["compute"] = classmethod(lambda cls, xp, a: compute(xp, a).astype(a.dtype, copy=False))
    return type(name, (_NoGrad,), attrs)


BesselJ0 = _no_grad_kernel("bessel_j0", "j0")
BesselJ1 = _no_grad_kernel("bessel_j1", "j1")
BesselY0 = _no_grad_kernel("bessel_y0", "y0")
BesselY1 = _no_grad_kernel("bessel_y1", "y1")
ModifiedBesselI0 = _no_grad_kernel("modified_bessel_i0", "i0")
ModifiedBesselI1 = _no_grad_kernel("modified_bessel_i1", "i1")
ModifiedBesselK0 = _no_grad_kernel("modified_bessel_k0", "k0")
ModifiedBesselK1 = _no_grad_kernel("modified_bessel_k1", "k1")
ScaledModifiedBesselK0 = _no_grad_kernel("scaled_modified_bessel_k0", "k0e")
ScaledModifiedBesselK1 = _no_grad_kernel("scaled_modified_bessel_k1", "k1e")
AiryAi = _no_grad_kernel("airy_ai", "airy", lambda xp, a: _kernel(xp, "airy")(a)[0])


def _spherical_j0(xp, a):
    with _quiet(xp):
        return xp.where(a == 0, 1.0, xp.sin(a) / xp.where(a == 0, 1.0, a))


SphericalBesselJ0 = _no_grad_kernel("spherical_bessel_j0", "", _spherical_j0)
