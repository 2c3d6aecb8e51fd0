"""Reductions over dimensions: sum, mean, and (see below) the rest of the family.

``dims`` arrive normalised: a tuple of non-negative axes (all axes for a full reduction).
"""

from __future__ import annotations

from ember.ops import Primitive


def kept_shape(shape, dims) -> tuple:
    """``shape`` with each reduced dim set to 1: the shape a grad is viewed as before expanding."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Sum(Primitive):
    @staticmethod
    def forward(ctx, a, dims, keepdim, np_dtype=None):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return a.sum(axis=dims, keepdims=keepdim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = grad.reshape(kept_shape(ctx.shape, ctx.dims))
        return grad.expand(ctx.shape), None, None, None


class Mean(Primitive):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        count = 1
        for d in dims:
            count *= a.shape[d]
        ctx.count = count
        return a.mean(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = grad.reshape(kept_shape(ctx.shape, ctx.dims))
        return (grad / ctx.count).expand(ctx.shape), None, None
