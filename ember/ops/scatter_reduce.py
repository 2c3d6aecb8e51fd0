"""``scatter_reduce(..., reduce='prod')``: the one scatter reduction that needs its own primitive.

(``amax``/``amin`` are composed in ``ember.methods.scatter_extremes`` from differentiable ops.)
"""

from __future__ import annotations

from ember.ops import Primitive
from ember.ops.indexing import ufunc_at


class ScatterProd(Primitive):
    """``base`` with each position multiplied by the ``value`` entries scattered to it at ``key``."""

    op_name = "scatter_reduce"

    @staticmethod
    def forward(ctx, base, value, key, include_self):
        xp = ctx.xp
        out = base.copy()
        if not include_self:
            out[key] = 1
        ufunc_at(xp, "multiply", out, key, value)
        ctx.key, ctx.include_self = key, include_self
        ctx.save_for_backward(base, value)
        return out

    @staticmethod
    def backward(ctx, grad):
        # d out / d x = the product of the other members of x's group: the product of the group's
        # nonzero members, divided by x when x != 0, and nothing unless x is the only zero.
        # Second derivatives are not recorded (the coefficients are computed on arrays).
        base, value = (t._data for t in ctx.saved_tensors)
        xp, key = grad.xp, ctx.key
        in_group = xp.full(base.shape, bool(ctx.include_self))
        if not ctx.include_self:
            touched = xp.zeros(base.shape, bool)
            touched[key] = True
            in_group |= ~touched
        nonzero = xp.where(in_group & (base != 0), base, 1).astype(base.dtype)
        zeros = (in_group & (base == 0)).astype(base.dtype)
        ufunc_at(xp, "multiply", nonzero, key, xp.where(value != 0, value, 1).astype(value.dtype))
        ufunc_at(xp, "add", zeros, key, (value == 0).astype(value.dtype))

        def coefficient(x, group_nonzero, group_zeros):
            safe = xp.where(x != 0, x, 1)
            return xp.where(
                x != 0,
                xp.where(group_zeros == 0, group_nonzero / safe, 0),
                xp.where(group_zeros == 1, group_nonzero, 0),
            )

        g = grad._data
        grad_base = g * xp.where(in_group, coefficient(base, nonzero, zeros), 0)
        grad_value = g[key] * coefficient(value, nonzero[key], zeros[key])
        return grad._wrap_like(grad_base), grad._wrap_like(grad_value), None, None
