"""``ember.special``: PyTorch's ``torch.special`` (gamma and Bessel functions, normal
distribution functions, zeta, orthogonal polynomials and the usual elementwise helpers).

Kernels NumPy lacks come from SciPy on the CPU (``pip install "ember[special]"``) and from
``cupyx.scipy.special`` on CUDA; ``erf``, ``erfc``, ``erfinv``, ``gammaln`` and ``digamma`` work
without SciPy. Gradients are PyTorch's: the gamma family, erf family, ``erfcx``, ``i0``/``i1``
(and their ``e`` forms), ``ndtr``, ``ndtri``, ``log_ndtr``, ``zeta`` (in ``other``),
``gammainc``/``gammaincc`` (in ``other``) and the composites; the Bessel functions other than
``i0``/``i1``, ``airy_ai`` and the polynomials have none, as in PyTorch.

>>> import ember
>>> ember.special.gammaln(ember.tensor([1.0, 5.0]))
tensor([0.0000, 3.1781])
"""

from __future__ import annotations

import math

from ember.methods._out import write_out
from ember.methods.elementwise import _float
from ember.methods.special import float_pair
from ember.ops import polynomials
from ember.ops import special_functions as sf

__all__ = [
    "airy_ai",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "sinc",
    "softmax",
    "spherical_bessel_j0",
    "xlog1py",
    "xlogy",
    "zeta",
]


def _out(result, out):
    """``result``, or written into ``out`` by ember's one ``out=`` mechanism and ``out`` returned."""
    return result if out is None else write_out("ember.special", result, out)


def _unary(name: str, compute, doc: str):
    def function(input, *, out=None):
        return _out(compute(input), out)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


def _unary_of_x(name: str, compute, doc: str):
    """:func:`_unary` for the functions whose argument PyTorch names ``x`` (Airy, scaled and
    spherical Bessel), so that ``airy_ai(x=t)`` works as it does there."""

    def function(x, *, out=None):
        return _out(compute(x), out)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


def _primitive(op):
    return lambda x: op.apply(_float(x))


# -- gamma family -------------------------------------------------------------------------------
gammaln = _unary("gammaln", lambda x: x.lgamma(), "``log|Gamma(x)|``.")
digamma = _unary("digamma", lambda x: x.digamma(), "``psi(x)``, the logarithmic derivative of Gamma.")
psi = _unary("psi", lambda x: x.digamma(), "Alias of :func:`digamma`.")


def polygamma(n: int, input, *, out=None):
    """The ``n``-th derivative of digamma."""
    return _out(input.polygamma(n), out)


def multigammaln(input, p: int, *, out=None):
    """The multivariate log-gamma function of dimension ``p``."""
    return _out(input.mvlgamma(p), out)


def gammainc(input, other, *, out=None):
    """The regularized lower incomplete gamma function ``P(input, other)``."""
    a, x = float_pair("gammainc", input, other)
    return _out(sf.Gammainc.apply(a, x, False), out)


def gammaincc(input, other, *, out=None):
    """The regularized upper incomplete gamma function ``Q(input, other)``."""
    a, x = float_pair("gammaincc", input, other)
    return _out(sf.Gammainc.apply(a, x, True), out)


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function ``sum_k (k + other)^-input``."""
    x, q = float_pair("zeta", input, other)
    return _out(sf.Zeta.apply(x, q), out)


# -- error function and normal distribution -----------------------------------------------------
erf = _unary("erf", lambda x: x.erf(), "The error function.")
erfc = _unary("erfc", lambda x: x.erfc(), "The complementary error function ``1 - erf(x)``.")
erfinv = _unary("erfinv", lambda x: x.erfinv(), "The inverse of :func:`erf`.")
erfcx = _unary("erfcx", _primitive(sf.Erfcx), "The scaled complementary error function ``exp(x^2) erfc(x)``.")
ndtr = _unary("ndtr", lambda x: (_float(x) * -math.sqrt(0.5)).erfc() * 0.5, "The standard normal CDF.")
ndtri = _unary("ndtri", _primitive(sf.Ndtri), "The inverse of :func:`ndtr`.")
log_ndtr = _unary("log_ndtr", _primitive(sf.LogNdtr), "``log(ndtr(x))``, accurate in the tails.")

# -- Bessel functions ---------------------------------------------------------------------------
i0 = _unary("i0", lambda x: x.i0(), "The modified Bessel function of the first kind, order 0.")
i0e = _unary("i0e", _primitive(sf.I0e), "``exp(-|x|) i0(x)``.")
i1 = _unary("i1", _primitive(sf.I1), "The modified Bessel function of the first kind, order 1.")
i1e = _unary("i1e", _primitive(sf.I1e), "``exp(-|x|) i1(x)``.")
bessel_j0 = _unary("bessel_j0", _primitive(sf.BesselJ0), "The Bessel function of the first kind, order 0.")
bessel_j1 = _unary("bessel_j1", _primitive(sf.BesselJ1), "The Bessel function of the first kind, order 1.")
bessel_y0 = _unary("bessel_y0", _primitive(sf.BesselY0), "The Bessel function of the second kind, order 0.")
bessel_y1 = _unary("bessel_y1", _primitive(sf.BesselY1), "The Bessel function of the second kind, order 1.")
modified_bessel_i0 = _unary(
    "modified_bessel_i0",
    _primitive(sf.ModifiedBesselI0),
    "The modified Bessel function of the first kind, order 0.",
)
modified_bessel_i1 = _unary(
    "modified_bessel_i1",
    _primitive(sf.ModifiedBesselI1),
    "The modified Bessel function of the first kind, order 1.",
)
modified_bessel_k0 = _unary(
    "modified_bessel_k0",
    _primitive(sf.ModifiedBesselK0),
    "The modified Bessel function of the second kind, order 0.",
)
modified_bessel_k1 = _unary(
    "modified_bessel_k1",
    _primitive(sf.ModifiedBesselK1),
    "The modified Bessel function of the second kind, order 1.",
)
scaled_modified_bessel_k0 = _unary_of_x(
    "scaled_modified_bessel_k0", _primitive(sf.ScaledModifiedBesselK0), "``exp(x) k0(x)``."
)
scaled_modified_bessel_k1 = _unary_of_x(
    "scaled_modified_bessel_k1", _primitive(sf.ScaledModifiedBesselK1), "``exp(x) k1(x)``."
)
spherical_bessel_j0 = _unary_of_x(
    "spherical_bessel_j0",
    _primitive(sf.SphericalBesselJ0),
    "The spherical Bessel function of the first kind, order 0: ``sin(x) / x``.",
)
airy_ai = _unary_of_x("airy_ai", _primitive(sf.AiryAi), "The Airy function Ai.")


# -- elementwise helpers ------------------------------------------------------------------------
expit = _unary("expit", lambda x: _float(x).sigmoid(), "The logistic sigmoid ``1 / (1 + exp(-x))``.")
exp2 = _unary("exp2", lambda x: x.exp2(), "``2 ** x``.")
expm1 = _unary("expm1", lambda x: x.expm1(), "``exp(x) - 1``, accurate near 0.")
log1p = _unary("log1p", lambda x: x.log1p(), "``log(1 + x)``, accurate near 0.")
sinc = _unary("sinc", lambda x: x.sinc(), "The normalized sinc ``sin(pi x) / (pi x)``.")


def _entr(x):
    x = _float(x)
    positive = x > 0
    safe = x.where(positive, x.new_ones(()))
    value = (-safe * safe.log()).where(positive, x.new_zeros(()))
    return value.where(x >= 0, x.new_full((), -math.inf))


entr = _unary("entr", _entr, "The elementwise entropy ``-x log x`` (0 at 0, -inf below).")


def logit(input, eps=None, *, out=None):
    """``log(x / (1 - x))``; with ``eps``, x is clamped to ``[eps, 1 - eps]`` first."""
    return _out(input.logit(eps), out)


def xlogy(input, other, *, out=None):
    """``input * log(other)``, 0 where input is 0."""
    from ember.methods.elementwise import xlogy as _xlogy

    return _out(_xlogy(input, other), out)


def xlog1py(input, other, *, out=None):
    """``input * log1p(other)``, 0 where input is 0 (unless other is NaN)."""
    x, y = float_pair("xlog1py", input, other)
    log = y.log1p()
    # 0 * log1p(-1) is taken as 0; elsewhere the product itself, so d/dx is log1p(y) even at 0
    log = log.where((x != 0) | ~log.isinf(), log.new_zeros(()))
    return _out(x * log, out)


def round(input, *, decimals: int = 0, out=None):
    """Round half to even at ``decimals`` places."""
    return _out(input.round(decimals=decimals), out)


def softmax(input, dim: int, *, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None):
    """``log(softmax(x))`` along ``dim``, computed stably."""
    return input.log_softmax(dim, dtype=dtype)


def logsumexp(input, dim, keepdim: bool = False, *, out=None):
    """``log(sum(exp(x)))`` over ``dim``, computed stably."""
    return _out(input.logsumexp(dim, keepdim), out)


# -- orthogonal polynomials ---------------------------------------------------------------------
def _polynomial(name: str, shifted: bool, doc: str):
    def function(x, n, *, out=None):  # PyTorch's names: special.hermite_polynomial_h(x=, n=)
        x, degree = _polynomial_operands(name, x, n)
        return _out(polynomials.Polynomial.apply(x, degree, name, shifted), out)

    full = ("shifted_" if shifted else "") + name
    function.__name__ = function.__qualname__ = full
    function.__doc__ = doc
    return function


def _polynomial_operands(name, input, n):
    from ember.tensor import Tensor

    x, _ = float_pair(name, input, n)
    return x, (n if isinstance(n, Tensor) else int(n))


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", False, "Chebyshev polynomial T_n(x).")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", False, "Chebyshev polynomial U_n(x).")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", False, "Chebyshev polynomial V_n(x).")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", False, "Chebyshev polynomial W_n(x).")
shifted_chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", True, "T_n(2x - 1).")
shifted_chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", True, "U_n(2x - 1).")
shifted_chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", True, "V_n(2x - 1).")
shifted_chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", True, "W_n(2x - 1).")
hermite_polynomial_h = _polynomial("hermite_polynomial_h", False, "Physicists' Hermite polynomial H_n(x).")
hermite_polynomial_he = _polynomial(
    "hermite_polynomial_he", False, "Probabilists' Hermite polynomial He_n(x)."
)
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", False, "Laguerre polynomial L_n(x).")
legendre_polynomial_p = _polynomial("legendre_polynomial_p", False, "Legendre polynomial P_n(x).")
