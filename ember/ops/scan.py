"""Scans that need their own primitive: ``logcumsumexp``."""

from __future__ import annotations

from ember.ops import Float32Primitive


class LogCumSumExp(Float32Primitive):
    """``log(cumsum(exp(a)))`` along ``dim``, computed without overflow."""

    op_name = "logcumsumexp"

    @staticmethod
    def forward(ctx, a, dim):
        xp = ctx.xp
        accumulate = getattr(xp.logaddexp, "accumulate", None)
        try:
            out = accumulate(a, axis=dim) if accumulate is not None else None
        except NotImplementedError:
            out = None
        if out is None:  # array modules without ufunc.accumulate: shift by the slice's max
            top = xp.max(a, axis=dim, keepdims=True)
            top = xp.where(xp.isfinite(top), top, 0)
            out = xp.log(xp.cumsum(xp.exp(a - top), axis=dim)) + top
        ctx.dim = dim
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # d out_i / d a_j = exp(a_j - out_i) for i >= j: a reversed scan of grad * exp(-out),
        # split by sign and kept in log space so that nothing overflows
        a, out = ctx.saved_tensors
        dim = ctx.dim

        def reversed_scan(log_terms):
            return LogCumSumExp.apply(log_terms.flip(dim), dim).flip(dim)

        positive = reversed_scan(_log_or_minus_inf(grad.clamp(min=0)) - out)
        negative = reversed_scan(_log_or_minus_inf((-grad).clamp(min=0)) - out)
        return (a + positive).exp() - (a + negative).exp(), None


def _log_or_minus_inf(t):
    """``log(t)`` for t >= 0, -inf at 0 without a division-by-zero warning."""
    zero = t == 0
    return t.masked_fill(zero, 1.0).log().masked_fill(zero, float("-inf"))
