"""Binary elementwise primitives (atan2, min/max, remainders, ...), selection, interpolation and clamping."""

from __future__ import annotations

from ember.dtypes import is_floating_np
from ember.ops import Primitive
from ember.ops.elementwise import _as_array, _quiet, _zeros_like


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
        return (shared.where(~a_loses, 0.0) if need_a else None), (
            shared.where(~b_loses, 0.0) if need_b else None
        )

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
    if a.dtype.kind in "iub" and bool(xp.any(b == 0) if hasattr(b, "shape") else b == 0):
        raise RuntimeError(f"{op}: ZeroDivisionError: integer division by zero (dtype {a.dtype})")


class _Modulo(Primitive):
    """``a - b * round(a / b)``; subclasses name the kernel and the rounding of the quotient."""

    kernel = rounding = None

    @classmethod
    def forward(cls, ctx, a, b):
        xp = ctx.xp
        _check_integer_divisor(xp, a, b, cls.op_name)
        ctx.save_for_backward(a, b)
        return getattr(xp, cls.kernel)(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        need_b = ctx.needs_input_grad[1]
        return grad, (-grad * a.div(b, rounding_mode=cls.rounding) if need_b else None)


class Remainder(_Modulo):
    """Python's ``%``: the result takes the sign of the divisor ``b`` (a Tensor or number)."""

    op_name, kernel, rounding = "remainder", "remainder", "floor"


class Fmod(_Modulo):
    """C's ``fmod``: the result takes the sign of the dividend ``a``."""

    op_name, kernel, rounding = "fmod", "fmod", "trunc"


class DivRounded(Primitive):
    """``a / b`` rounded toward zero (``'trunc'``) or down (``'floor'``); zero gradient."""

    op_name = "div"

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = ctx.xp
        _check_integer_divisor(xp, a, b, "div")
        if mode == "floor":
            return xp.floor_divide(a, b)
        if is_floating_np(a.dtype):
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
