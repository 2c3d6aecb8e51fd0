"""Elementwise primitives: arithmetic, powers, exponentials, trigonometry, rounding, min/max,
selection, clamping and the error-function family.

Inputs arrive already promoted to a common dtype (the Tensor methods do PyTorch's
promotion), so forward is the plain array expression. Most unary ops only name their kernel and
write their derivative: ``_OfInput`` / ``_OfOutput`` / ``_Flat`` hold the shared forward and
backward (as classmethods, so each subclass supplies ``kernel`` or ``compute`` and ``derivative``).
"""

from __future__ import annotations

import contextlib
import math

from ember.ops import Primitive

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_PI = math.pi
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _quiet(xp):
    """Silence NumPy's floating-point warnings where overflow to inf or 0 is the right answer."""
    errstate = getattr(xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


def _as_array(xp, out):
    """NumPy gives 0-d results as scalars; an output that is saved must be the array returned."""
    return out if type(out) is xp.ndarray else xp.asarray(out)


def _zeros_like(grad):
    """A zero gradient: PyTorch's choice where a derivative is 0 almost everywhere."""
    return grad.new_zeros(grad.shape)


class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class RSub(Primitive):
    """``b - a`` for a Tensor ``a`` and a number ``b``."""

    op_name = "rsub"

    @staticmethod
    def forward(ctx, a, b):
        return b - a

    @staticmethod
    def backward(ctx, grad):
        return -grad, None


class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * a / (b * b) if need_b else None
        return grad_a, grad_b


class RDiv(Primitive):
    """``b / a`` for a Tensor ``a`` and a number ``b``."""

    op_name = "div"

    @staticmethod
    def forward(ctx, a, b):
        out = _as_array(ctx.xp, b / a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return -grad * out / a, None


class Neg(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind == "b":
            raise RuntimeError(
                f"neg: negation, the `-` operator, on a bool tensor (shape {list(a.shape)}) is not "
                "supported. If you are trying to invert a mask, use the `~` or `logical_not()` "
                "operator instead."
            )
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class PowScalar(Primitive):
    """``a ** p`` for a number ``p``."""

    op_name = "pow"

    @staticmethod
    def forward(ctx, a, p):
        ctx.save_for_backward(a)
        ctx.p = p
        return a**p

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return grad * 0, None
        if p == 2:
            return grad * a * 2, None
        return grad * p * a ** (p - 1), None


class Pow(Primitive):
    """``a ** b`` for tensors ``a`` and ``b``."""

    @staticmethod
    def forward(ctx, a, b):
        out = _as_array(ctx.xp, a**b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad * b * a ** (b - 1) if need_a else None
        grad_b = None
        if need_b:  # d/db a^b = a^b log a, taken as 0 where a == 0 (as PyTorch does)
            safe_log = a.where(a != 0, a.new_ones(())).log()
            grad_b = grad * out * safe_log
        return grad_a, grad_b


class RPow(Primitive):
    """``b ** a`` for a Tensor exponent ``a`` and a number base ``b``."""

    op_name = "pow"

    @staticmethod
    def forward(ctx, a, b):
        out = _as_array(ctx.xp, ctx.xp.power(b, a, dtype=a.dtype))
        ctx.save_for_backward(out)
        ctx.log_base = ctx.xp.log(b) if b > 0 else float("nan") if b < 0 else float("-inf")
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if ctx.log_base == float("-inf"):  # 0 ** a
            return grad * 0, None
        return grad * out * float(ctx.log_base), None


class Exp(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = _as_array(ctx.xp, ctx.xp.exp(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


# -- unary ops, by what their derivative is written in -------------------------------------
class _OfInput(Primitive):
    """``f(a)`` whose derivative is written in the input: ``grad * derivative(a)``."""

    kernel = ""  # the xp function computing f, unless ``compute`` is overridden

    @classmethod
    def forward(cls, ctx, a):
        ctx.save_for_backward(a)
        return cls.compute(ctx.xp, a)

    @classmethod
    def compute(cls, xp, a):
        return getattr(xp, cls.kernel)(a)

    @classmethod
    def backward(cls, ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cls.derivative(a)


class _OfOutput(_OfInput):
    """``f(a)`` whose derivative is written in the output (exp, tanh, sigmoid, sqrt...)."""

    @classmethod
    def forward(cls, ctx, a):
        out = _as_array(ctx.xp, cls.compute(ctx.xp, a))
        ctx.save_for_backward(out)
        return out


class _Flat(_OfInput):
    """A step function (floor, sign...): its gradient is zero, as in PyTorch."""

    @classmethod
    def forward(cls, ctx, a):
        return cls.compute(ctx.xp, a)

    @classmethod
    def backward(cls, ctx, grad):
        return _zeros_like(grad)


class Abs(_OfInput):
    kernel = "abs"
    derivative = staticmethod(lambda a: a.sign())  # sign(0) = 0: abs'(0) = 0, as PyTorch


class Sin(_OfInput):
    kernel = "sin"
    derivative = staticmethod(lambda a: a.cos())


class Cos(_OfInput):
    kernel = "cos"
    derivative = staticmethod(lambda a: -a.sin())


class Asin(_OfInput):
    kernel = "arcsin"
    derivative = staticmethod(lambda a: (1 - a * a).rsqrt())


class Acos(_OfInput):
    kernel = "arccos"
    derivative = staticmethod(lambda a: -(1 - a * a).rsqrt())


class Atan(_OfInput):
    kernel = "arctan"
    derivative = staticmethod(lambda a: (a * a + 1).reciprocal())


class Sinh(_OfInput):
    kernel = "sinh"
    derivative = staticmethod(lambda a: a.cosh())


class Cosh(_OfInput):
    kernel = "cosh"
    derivative = staticmethod(lambda a: a.sinh())


class Asinh(_OfInput):
    kernel = "arcsinh"
    derivative = staticmethod(lambda a: (a * a + 1).rsqrt())


class Acosh(_OfInput):
    kernel = "arccosh"
    derivative = staticmethod(lambda a: (a * a - 1).rsqrt())


class Atanh(_OfInput):
    kernel = "arctanh"
    derivative = staticmethod(lambda a: (1 - a * a).reciprocal())


class Log2(_OfInput):
    kernel = "log2"
    derivative = staticmethod(lambda a: (a * _LN2).reciprocal())


class Log10(_OfInput):
    kernel = "log10"
    derivative = staticmethod(lambda a: (a * _LN10).reciprocal())


class Log1p(_OfInput):
    kernel = "log1p"
    derivative = staticmethod(lambda a: (a + 1).reciprocal())


class Exp2(_OfOutput):
    kernel = "exp2"
    derivative = staticmethod(lambda out: out * _LN2)


class Expm1(_OfOutput):
    kernel = "expm1"
    derivative = staticmethod(lambda out: out + 1)


class Sqrt(_OfOutput):
    kernel = "sqrt"
    derivative = staticmethod(lambda out: (out * 2).reciprocal())


class Rsqrt(_OfOutput):
    derivative = staticmethod(lambda out: out * out * out * -0.5)

    @classmethod
    def compute(cls, xp, a):
        out = xp.sqrt(a, out=xp.empty_like(a))
        with _quiet(xp):  # rsqrt(0) = inf
            return xp.reciprocal(out, out=out)


class Reciprocal(_OfOutput):
    derivative = staticmethod(lambda out: -(out * out))

    @classmethod
    def compute(cls, xp, a):
        with _quiet(xp):  # 1 / 0 = inf
            return xp.reciprocal(a)


class Tan(_OfOutput):
    kernel = "tan"
    derivative = staticmethod(lambda out: out * out + 1)


class Tanh(_OfOutput):
    kernel = "tanh"
    derivative = staticmethod(lambda out: 1 - out * out)


class Sigmoid(_OfOutput):
    derivative = staticmethod(lambda out: out * (1 - out))

    @classmethod
    def compute(cls, xp, a):
        out = xp.negative(a, out=xp.empty_like(a))
        with _quiet(xp):  # exp(-a) overflows to inf for very negative a, and 1 / inf = 0 is right
            xp.exp(out, out=out)
            out += 1
            return xp.reciprocal(out, out=out)


class Sign(_Flat):
    @classmethod
    def compute(cls, xp, a):
        out = xp.sign(a, out=xp.empty_like(a))
        if a.dtype.kind == "f":
            out[xp.isnan(out)] = 0  # sign(NaN) = 0, as PyTorch
        return out


class Floor(_Flat):
    kernel = "floor"


class Ceil(_Flat):
    kernel = "ceil"


class Trunc(_Flat):
    kernel = "trunc"


class Round(Primitive):
    """Round half to even, at ``decimals`` places after the point (before it when negative)."""

    @staticmethod
    def forward(ctx, a, decimals):
        xp = ctx.xp
        if decimals == 0:
            return xp.rint(a)
        if decimals > 0:
            scale = 10.0**decimals
            return xp.rint(a * scale) / scale
        scale = 10.0**-decimals
        return xp.rint(a / scale) * scale

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), None


class Frac(Primitive):
    @staticmethod
    def forward(ctx, a):
        return a - ctx.xp.trunc(a)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Relu(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = _as_array(ctx.xp, ctx.xp.maximum(a, 0))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return Where.apply(out <= 0, 0.0, grad)  # relu'(0) = 0; NaN passes the gradient, as PyTorch


class Sinc(Primitive):
    """``sin(pi a) / (pi a)``, 1 at 0."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.sinc(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        zero = a == 0
        pa = a * _PI
        safe = pa.where(~zero, 1.0)
        slope = (pa.cos() * safe - pa.sin()) / (safe * a.where(~zero, 1.0))
        return grad * slope.where(~zero, 0.0)


class NanToNum(Primitive):
    op_name = "nan_to_num"

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.save_for_backward(a)
        return ctx.xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad.where(a.isfinite(), 0.0), None, None, None


# -- binary ops ------------------------------------------------------------------------------
class Atan2(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        scaled = grad / (a * a + b * b)
        return (scaled * b if need_a else None), (-scaled * a if need_b else None)


class Maximum(Primitive):
    """Elementwise max; on ties the gradient is split equally, as PyTorch does."""

    kernel = "maximum"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(ctx.xp, cls.kernel)(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        shared = grad.where(a != b, grad * 0.5)
        a_loses, b_loses = cls.losers(a, b)
        return (shared.where(~a_loses, 0.0) if need_a else None), (shared.where(~b_loses, 0.0) if need_b else None)

    @staticmethod
    def losers(a, b):
        return a < b, a > b


class Minimum(Maximum):
    kernel = "minimum"

    @staticmethod
    def losers(a, b):
        return a > b, a < b


class Fmax(Primitive):
    """Elementwise max ignoring NaN; ties send the gradient to ``a``, as PyTorch does."""

    kernel = "fmax"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(ctx.xp, cls.kernel)(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_wins = cls.wins(a, b).logical_or(b.isnan())
        return (grad.where(a_wins, 0.0) if need_a else None), (grad.where(~a_wins, 0.0) if need_b else None)

    @staticmethod
    def wins(a, b):
        return a >= b


class Fmin(Fmax):
    kernel = "fmin"

    @staticmethod
    def wins(a, b):
        return a <= b


class Hypot(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        out = _as_array(ctx.xp, ctx.xp.hypot(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        scaled = grad / out
        return (scaled * a if need_a else None), (scaled * b if need_b else None)


class Copysign(Primitive):
    """``|a|`` with the sign of ``b`` (a Tensor or a number); no gradient reaches ``b``."""

    @staticmethod
    def forward(ctx, a, b):
        out = _as_array(ctx.xp, ctx.xp.copysign(a, b))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        need_b = ctx.needs_input_grad[1]
        zero = a == 0
        ratio = Where.apply(zero, 0.0, out / a.where(~zero, 1.0))  # +-1, 0 at 0 and NaN at NaN, as PyTorch
        return grad * ratio, (_zeros_like(grad) if need_b else None)


class Logaddexp(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        out = _as_array(ctx.xp, ctx.xp.logaddexp(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * (a - out).exp() if need_a else None), (grad * (b - out).exp() if need_b else None)


class Xlogy(Primitive):
    """``a * log(b)``, taken as 0 where ``a == 0`` unless ``b`` is NaN."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        with _quiet(xp):
            out = a * xp.log(b)
        return xp.where((a == 0) & ~xp.isnan(b), 0, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = (grad * b.log()).where(~((a == 0) & (b <= 0)), 0.0)
        if need_b:
            grad_b = grad * a / b
        return grad_a, grad_b


def _check_integer_divisor(xp, a, b, op: str) -> None:
    if a.dtype.kind in "iub" and bool(xp.any(b == 0)):
        raise RuntimeError(f"{op}: ZeroDivisionError: integer division by zero (dtype {a.dtype})")


class Remainder(Primitive):
    """Python's ``%``: the result takes the sign of the divisor ``b`` (a Tensor or number)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        _check_integer_divisor(xp, a, b, "remainder")
        ctx.save_for_backward(a, b)
        return xp.remainder(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_b = ctx.needs_input_grad[1]
        return grad, (-grad * a.div(b, rounding_mode="floor") if need_b else None)


class Fmod(Primitive):
    """C's ``fmod``: the result takes the sign of the dividend ``a``."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        _check_integer_divisor(xp, a, b, "fmod")
        ctx.save_for_backward(a, b)
        return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_b = ctx.needs_input_grad[1]
        return grad, (-grad * a.div(b, rounding_mode="trunc") if need_b else None)


class DivRounded(Primitive):
    """``a / b`` rounded toward zero (``'trunc'``) or down (``'floor'``); zero gradient."""

    op_name = "div"

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = ctx.xp
        _check_integer_divisor(xp, a, b, "div")
        if mode == "floor":
            return xp.floor_divide(a, b)
        if a.dtype.kind == "f":
            with _quiet(xp):
                return xp.trunc(a / b)
        return (a - xp.fmod(a, b)) // b  # exact: the remainder is taken off first

    @staticmethod
    def backward(ctx, grad):
        need = ctx.needs_input_grad
        zero = _zeros_like(grad)
        return (zero if need[0] else None), (zero if need[1] else None), None


# -- selection, interpolation and clamping -------------------------------------------------
class Where(Primitive):
    """``cond ? a : b``; ``a`` and ``b`` are arrays of one dtype or numbers."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        return None, (grad.where(cond, 0.0) if need_a else None), (grad.where(~cond, 0.0) if need_b else None)


class Lerp(Primitive):
    """``a + w (b - a)`` for a Tensor or number weight ``w``."""

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a, b, w)
        return a + w * (b - a)

    @staticmethod
    def backward(ctx, grad):
        a, b, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        grad_a = grad * (1 - w) if need[0] else None
        grad_b = grad * w if need[1] else None
        grad_w = grad * (b - a) if need[2] else None
        return grad_a, grad_b, grad_w


def _clip(xp, a, lo, hi):
    out = a if lo is None else xp.maximum(a, lo)
    return out if hi is None else xp.minimum(out, hi)


class Clamp(Primitive):
    """``min(max(a, lo), hi)`` for number bounds (either may be None)."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a)
        ctx.lo, ctx.hi = lo, hi
        return _clip(ctx.xp, a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.lo, ctx.hi
        if lo is None:
            inside = a <= hi
        elif hi is None:
            inside = a >= lo
        else:
            inside = (a >= lo).logical_and(a <= hi)
        return grad.where(inside, 0.0), None, None


class ClampTensor(Primitive):
    """``min(max(a, lo), hi)`` for tensor bounds (either may be None); gradients as PyTorch's."""

    op_name = "clamp"

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        return _clip(ctx.xp, a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        need_a, need_lo, need_hi = ctx.needs_input_grad
        if hi is None:
            a_mask, lo_mask, hi_mask = a >= lo, a < lo, None
        elif lo is None:
            a_mask, lo_mask, hi_mask = a <= hi, None, a > hi
        else:
            a_mask = (a >= lo).logical_and(a <= hi)
            lo_mask = (a < lo).logical_and(lo < hi)
            hi_mask = (a > hi).logical_or(hi < lo)
        return (
            grad.where(a_mask, 0.0) if need_a else None,
            grad.where(lo_mask, 0.0) if need_lo else None,
            grad.where(hi_mask, 0.0) if need_hi else None,
        )


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
    for c in _ERF_SERIES[terms - 2::-1]:
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


class Erf(_OfInput):
    derivative = staticmethod(lambda a: (-(a * a)).exp() * _TWO_OVER_SQRT_PI)

    @classmethod
    def compute(cls, xp, a):
        erf, _ = erf_and_erfc(xp, a, a.dtype.itemsize >= 8)
        return xp.copysign(erf, a).astype(a.dtype)


class Erfc(_OfInput):
    derivative = staticmethod(lambda a: (-(a * a)).exp() * -_TWO_OVER_SQRT_PI)

    @classmethod
    def compute(cls, xp, a):
        _, erfc = erf_and_erfc(xp, a, a.dtype.itemsize >= 8)
        return xp.where(a < 0, 2.0 - erfc, erfc).astype(a.dtype)


class Erfinv(_OfOutput):
    derivative = staticmethod(lambda out: (out * out).exp() * _SQRT_PI_OVER_TWO)

    @classmethod
    def compute(cls, xp, a):
        return _erfinv(xp, a)
