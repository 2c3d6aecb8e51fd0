"""Elementwise primitives: arithmetic, powers, exponentials, trigonometry and rounding.

Binary ops, selection and clamping are in ``ember.ops.binary``; the error-function family is in
``ember.ops.special``.

Inputs arrive already promoted to a common dtype (the Tensor methods do PyTorch's
promotion), so forward is the plain array expression. Most unary ops only name their kernel and
write their derivative: ``_OfInput`` / ``_OfOutput`` / ``_Flat`` hold the shared forward and
backward (as classmethods, so each subclass supplies ``kernel`` or ``compute`` and ``derivative``).
"""

from __future__ import annotations

import math

from ember.backend import for_xp
from ember.dtypes import is_floating_np
from ember.ops import Primitive
from ember.ops.complex import conj

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_PI = math.pi
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _quiet(xp):
    """Silence NumPy's floating-point warnings where overflow to inf or 0 is the right answer."""
    return for_xp(xp).quiet_floating_point()


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


def _is_complex(a) -> bool:
    return isinstance(a, complex) or (getattr(a, "dtype", None) is not None and a.dtype.kind == "c")


class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward_arrays(ctx, grad):
        a, b = ctx.saved_arrays
        if _is_complex(a) or _is_complex(b) or grad.dtype.kind == "c":
            # complex: the Tensor-op backward, whose conj and promotion rules PyTorch's tests pin
            like = next(t for t in ctx.saved_tensors if hasattr(t, "_wrap_like"))
            grads = Mul.backward(ctx, like._wrap_like(grad))
            return tuple(None if g is None else g._data for g in grads)
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * conj(b) if need_a else None), (grad * conj(a) if need_b else None)


class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if type(b) in (int, float) and abs(b) >= 1:  # the usual x / scale: no inf or nan to make
            return a / b
        with _quiet(ctx.xp):  # x / 0 is inf or nan, silently, as in PyTorch
            return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / conj(b) if need_a else None
        grad_b = -grad * conj(a / (b * b)) if need_b else None
        return grad_a, grad_b


class RDiv(Primitive):
    """``b / a`` for a Tensor ``a`` and a number ``b``."""

    op_name = "div"

    @staticmethod
    def forward(ctx, a, b):
        with _quiet(ctx.xp):
            out = _as_array(ctx.xp, b / a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return -grad * conj(out / a), None


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
        with _quiet(ctx.xp):  # 0 ** -1 = inf, (-1) ** 0.5 = nan
            return a**p

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return grad * 0, None
        if p == 2:
            return grad * conj(a) * 2, None
        return grad * conj(p * a ** (p - 1)), None


def _int_power(xp, base, exponent):
    """Integer powers with negative exponents as PyTorch computes them (NumPy refuses them):
    ``1 ** -n = 1``, ``(-1) ** -n = +-1``, and any other base gives 0."""
    negative = exponent < 0
    out = _as_array(xp, xp.power(base, xp.where(negative, 0, exponent)))
    if negative.any():
        odd = exponent % 2 != 0
        special = xp.where(base == 1, 1, xp.where(base == -1, xp.where(odd, -1, 1), 0))
        out = xp.where(negative, special, out).astype(out.dtype)
    return out


class Pow(Primitive):
    """``a ** b`` for tensors ``a`` and ``b``."""

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            out = _int_power(ctx.xp, a, b)
            ctx.save_for_backward(a, b, out)
            return out
        with _quiet(ctx.xp):
            out = _as_array(ctx.xp, a**b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad * conj(b * a ** (b - 1)) if need_a else None
        grad_b = None
        if need_b:  # d/db a^b = a^b log a, taken as 0 where a == 0 (as PyTorch does)
            safe_log = a.where(a != 0, a.new_ones(())).log()
            grad_b = grad * conj(out * safe_log)
        return grad_a, grad_b


class RPow(Primitive):
    """``b ** a`` for a Tensor exponent ``a`` and a number base ``b``."""

    op_name = "pow"

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype.kind in "iu" and isinstance(b, int):
            out = _int_power(ctx.xp, ctx.xp.asarray(b, dtype=a.dtype), a)
        else:
            with _quiet(ctx.xp):
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
        with _quiet(ctx.xp):  # overflow to inf
            out = _as_array(ctx.xp, ctx.xp.exp(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * conj(out)


class Log(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with _quiet(ctx.xp):  # log(0) = -inf, log(-1) = nan
            return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / conj(a)


# -- unary ops, by what their derivative is written in -------------------------------------
class _OfInput(Primitive):
    """``f(a)`` whose derivative is written in the input: ``grad * derivative(a)``."""

    kernel = ""  # the xp function computing f, unless ``compute`` is overridden
    # True where inputs outside the domain or overflow are ordinary (log2(0) = -inf): the
    # kernel then runs without NumPy's floating-point warnings, which PyTorch never gives
    quiet = False

    @classmethod
    def forward(cls, ctx, a):
        ctx.save_for_backward(a)
        return cls.compute(ctx.xp, a)

    @classmethod
    def compute(cls, xp, a):
        if cls.quiet:
            with _quiet(xp):
                return getattr(xp, cls.kernel)(a)
        return getattr(xp, cls.kernel)(a)

    @classmethod
    def backward(cls, ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * conj(cls.derivative(a))


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

    @classmethod
    def backward(cls, ctx, grad):
        (a,) = ctx.saved_tensors
        if a._data.dtype.kind != "c":
            return grad * a.sign()
        # sgn(a) = a / |a|, written in differentiable ops (it is not flat, unlike a real sign);
        # no conjugate: |a| is real-valued, so its gradient is d|a|/dx + i d|a|/dy
        size = Abs.apply(a)
        return grad * a / size.where(size > 0, size.new_ones(()))


class Sin(_OfInput):
    kernel = "sin"
    derivative = staticmethod(lambda a: a.cos())


class Cos(_OfInput):
    kernel = "cos"
    derivative = staticmethod(lambda a: -a.sin())


class Asin(_OfInput):
    kernel = "arcsin"
    quiet = True
    derivative = staticmethod(lambda a: (1 - a * a).rsqrt())


class Acos(_OfInput):
    kernel = "arccos"
    quiet = True
    derivative = staticmethod(lambda a: -(1 - a * a).rsqrt())


class Atan(_OfInput):
    kernel = "arctan"
    derivative = staticmethod(lambda a: (a * a + 1).reciprocal())


class Sinh(_OfInput):
    kernel = "sinh"
    quiet = True
    derivative = staticmethod(lambda a: a.cosh())


class Cosh(_OfInput):
    kernel = "cosh"
    quiet = True
    derivative = staticmethod(lambda a: a.sinh())


class Asinh(_OfInput):
    kernel = "arcsinh"
    derivative = staticmethod(lambda a: (a * a + 1).rsqrt())


class Acosh(_OfInput):
    kernel = "arccosh"
    quiet = True
    derivative = staticmethod(lambda a: (a * a - 1).rsqrt())


class Atanh(_OfInput):
    kernel = "arctanh"
    quiet = True
    derivative = staticmethod(lambda a: (1 - a * a).reciprocal())


class Log2(_OfInput):
    kernel = "log2"
    quiet = True
    derivative = staticmethod(lambda a: (a * _LN2).reciprocal())


class Log10(_OfInput):
    kernel = "log10"
    quiet = True
    derivative = staticmethod(lambda a: (a * _LN10).reciprocal())


class Log1p(_OfInput):
    kernel = "log1p"
    quiet = True
    derivative = staticmethod(lambda a: (a + 1).reciprocal())


class Exp2(_OfOutput):
    kernel = "exp2"
    quiet = True
    derivative = staticmethod(lambda out: out * _LN2)


class Expm1(_OfOutput):
    kernel = "expm1"
    quiet = True
    derivative = staticmethod(lambda out: out + 1)


class Sqrt(_OfOutput):
    kernel = "sqrt"
    quiet = True
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
    quiet = True
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
        if is_floating_np(a.dtype):
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
        return ReluGrad.apply(grad, out)

    @staticmethod
    def backward_arrays(ctx, grad):
        (out,) = ctx.saved_arrays
        return _relu_grad(grad, out)


def _relu_grad(grad, out):
    """``grad`` where ``out > 0`` (or NaN, which passes the gradient as in PyTorch), else 0."""
    return grad * ~(out <= 0)  # one multiply by a bool mask: cheaper than where/masked_fill


class ReluGrad(Primitive):
    """``grad`` where ``out > 0`` (or NaN, which passes the gradient as in PyTorch), else 0."""

    op_name = "threshold_backward"

    @staticmethod
    def forward(ctx, grad, out):
        ctx.save_for_backward(out)
        return _relu_grad(grad, out)

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return ReluGrad.apply(grad, out), None


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
