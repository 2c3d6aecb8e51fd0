"""The error-function family (erf, erfc, erfinv).

Where the backend offers compiled special functions (SciPy's, CuPy's ``cupyx``), they do
the work; otherwise ember's own float64 implementation below (series, continued fraction and
Newton steps) does, so SciPy stays optional. Both are accurate to float64.
"""

from __future__ import annotations

import math

from ember import backend
from ember.ops.elementwise import _PI, _SQRT_PI_OVER_TWO, _TWO_OVER_SQRT_PI, _OfInput, _OfOutput, _quiet


# -- the error function family -------------------------------------------------------------
def _series_coefficients(n: int) -> tuple:
    """c_k = 2^k / (2k+1)!!, so erf(x) = 2/sqrt(pi) x exp(-x^2) sum_k c_k x^(2k) (no cancellation)."""
    coefficients, c = [], 1.0
    for k in range(n):
        coefficients.append(c)
        c *= 2.0 / (2 * k + 3)
    return tuple(coefficients)


_ERF_SERIES = _series_coefficients(30)
# (switch from series to continued fraction at, series terms, fraction depth): chosen by
# measuring against math.erf / math.erfc; float64 to ~1e-15, the rest to ~1e-9 relative
_ERF_PLAN_FULL = (2.0, 30, 50)
_ERF_PLAN_SINGLE = (2.0, 22, 20)


def _erf_series(xp, x, terms: int):
    y = x * x
    s = xp.full_like(x, _ERF_SERIES[terms - 1])
    for c in _ERF_SERIES[terms - 2 :: -1]:
        s *= y
        s += c
    return s * x * xp.exp(-y) * _TWO_OVER_SQRT_PI


def _erfc_fraction(xp, x, depth: int):
    """erfc(x) for x >= 2 from its continued fraction, evaluated bottom-up."""
    f = x.copy()
    for k in range(depth, 0, -1):
        xp.divide(0.5 * k, f, out=f)
        f += x
    return xp.exp(-(x * x)) / (f * math.sqrt(math.pi))


def erf_and_erfc(xp, a, full_precision: bool):
    """``erf(|a|)`` and ``erfc(|a|)`` as float64 arrays of ``a``'s shape."""
    split, terms, depth = _ERF_PLAN_FULL if full_precision else _ERF_PLAN_SINGLE
    x = xp.abs(a.astype(xp.float64).reshape(-1))
    erf, erfc = xp.empty_like(x), xp.empty_like(x)
    small = x < split
    large = ~small
    with _quiet(xp):
        e = _erf_series(xp, x[small], terms)
        c = _erfc_fraction(xp, x[large], depth)
    erf[small], erfc[small] = e, 1.0 - e
    erf[large], erfc[large] = 1.0 - c, c
    return erf.reshape(a.shape), erfc.reshape(a.shape)


def _erfinv(xp, a):
    """Winitzki's closed-form guess, then Newton steps on erf (erfc in the tails) in float64."""
    y = a.astype(xp.float64).reshape(-1)
    p = xp.abs(y)
    out = xp.full_like(p, float("nan"))
    out[p == 1] = float("inf")
    inside = p < 1
    p = p[inside]
    w = xp.log1p(-(p * p))
    t = 2.0 / (_PI * 0.147) + 0.5 * w
    x = xp.sqrt(xp.sqrt(t * t - w / 0.147) - t)
    for _ in range(3):
        erf, erfc = erf_and_erfc(xp, x, True)
        residual = xp.where(p < 0.5, erf - p, (1.0 - p) - erfc)
        x -= residual / (_TWO_OVER_SQRT_PI * xp.exp(-(x * x)))
    out[inside] = x
    return xp.copysign(out, y).reshape(a.shape).astype(a.dtype)


def _library(xp):
    """The ``scipy.special``-like module for ``xp``'s arrays, or None when not installed."""
    return backend.for_xp(xp).special_functions()


class Erf(_OfInput):
    derivative = staticmethod(lambda a: (-(a * a)).exp() * _TWO_OVER_SQRT_PI)

    @classmethod
    def compute(cls, xp, a):
        library = _library(xp)
        if library is not None:
            return library.erf(a).astype(a.dtype, copy=False)  # float16 and bfloat16 come back wider
        erf, _ = erf_and_erfc(xp, a, a.dtype.itemsize >= 8)
        return xp.copysign(erf, a).astype(a.dtype)


class Erfc(_OfInput):
    derivative = staticmethod(lambda a: (-(a * a)).exp() * -_TWO_OVER_SQRT_PI)

    @classmethod
    def compute(cls, xp, a):
        library = _library(xp)
        if library is not None:
            return library.erfc(a).astype(a.dtype, copy=False)  # float16 and bfloat16 come back wider
        _, erfc = erf_and_erfc(xp, a, a.dtype.itemsize >= 8)
        return xp.where(a < 0, 2.0 - erfc, erfc).astype(a.dtype)


class Erfinv(_OfOutput):
    derivative = staticmethod(lambda out: (out * out).exp() * _SQRT_PI_OVER_TWO)

    @classmethod
    def compute(cls, xp, a):
        library = _library(xp)
        if library is not None:
            return library.erfinv(a).astype(a.dtype, copy=False)  # float16 and bfloat16 come back wider
        return _erfinv(xp, a)
