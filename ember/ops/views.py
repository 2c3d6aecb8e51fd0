"""Primitives behind in-place writes through a view of a tensor that is in the graph.

A view is located inside its base's array by a byte offset, a shape and strides. When an
in-place op changes a view, the base's new value is ``ViewScatter(base, new_view_value)``, and
the view itself becomes ``StridedView(new_base)``: its gradient flows into the base's history.
"""

from __future__ import annotations

from ember.ops import Primitive


def _region(xp, array, offset: int, shape: tuple, strides: tuple):
    # offsets and strides describe a C-contiguous array of this shape: a broadcast or strided
    # array (a gradient, say) is laid out that way first; a contiguous one stays a view
    flat = xp.ascontiguousarray(array).reshape(-1)
    start = flat[offset // array.itemsize :]
    return xp.lib.stride_tricks.as_strided(start, shape=shape, strides=strides)


class StridedView(Primitive):
    """The elements of ``base`` at (byte offset, shape, strides): a view."""

    is_view = True
    op_name = "view"

    @staticmethod
    def forward(ctx, base, offset, shape, strides):
        ctx.base_shape, ctx.place = base.shape, (offset, shape, strides)
        return _region(ctx.xp, base, offset, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        zeros = grad.new_zeros(ctx.base_shape)
        return ViewScatter.apply(zeros, grad, *ctx.place), None, None, None


class ViewScatter(Primitive):
    """A copy of ``base`` whose region (byte offset, shape, strides) holds ``value``."""

    op_name = "copy_slices"

    @staticmethod
    def forward(ctx, base, value, offset, shape, strides):
        ctx.place = (offset, shape, strides)
        out = base.copy()
        _region(ctx.xp, out, offset, shape, strides)[...] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        need_base, need_value = ctx.needs_input_grad[:2]
        place = ctx.place
        grad_base = ViewScatter.apply(grad, grad.new_zeros(place[1]), *place) if need_base else None
        grad_value = StridedView.apply(grad, *place) if need_value else None
        return grad_base, grad_value, None, None, None
