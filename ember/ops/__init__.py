"""Primitive ops: one ``Primitive`` subclass per op, one file per family.

A primitive's ``forward`` gets raw arrays and reaches the array module through ``ctx.xp``;
its ``backward`` gets and returns Tensors and uses ember's differentiable ops, so that
``create_graph=True`` differentiates it again. Return gradients at the broadcast shape:
the engine sums them to each input's shape.
"""

from ember.autograd.function import Function


class Primitive(Function):
    """Base of ember's own ops: ``forward`` works on arrays (see ``ember.autograd.function``)."""

    arrays = True
