"""Elementwise primitives: arithmetic, powers, exponentials and friends.

Inputs arrive already promoted to a common dtype (the Tensor methods do PyTorch's
promotion), so forward is the plain array expression.
"""

from __future__ import annotations

from ember.ops import Primitive


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
        out = b / a
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return -grad * out / a, None


class Neg(Primitive):
    @staticmethod
    def forward(ctx, a):
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
        out = a**b
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
        out = ctx.xp.power(b, a, dtype=a.dtype)
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
        out = ctx.xp.exp(a)
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
