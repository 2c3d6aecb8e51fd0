"""Dropout as one primitive, for devices with a fused dropout kernel (``backend/fused/dropout.py``).

On the CPU ``nn.functional.dropout`` stays a composite (a uniform draw, a compare, a multiply);
on CUDA this primitive draws the Philox mask and applies it in one kernel, keeps the uint8 mask
for backward, and backward is one more kernel (``grad * mask * scale``).
"""

from __future__ import annotations

from ember.backend import fused
from ember.backend.fused import dropout as reference
from ember.ops import Primitive


class Dropout(Primitive):
    """``x * mask / (1 - p)`` with the Philox mask of (``seed``, ``offset``); ``0 < p < 1``."""

    op_name = "dropout"

    @staticmethod
    def forward(ctx, x, p, seed, offset):
        # the reference serves arrays of a device without the kernel (the tests' CPU path)
        draw = fused.kernel(ctx.xp, "dropout.dropout") or reference.dropout
        out, mask = draw(x, p, seed, offset)
        ctx.scale = 1.0 / (1.0 - p)
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        """create_graph: ``grad * mask * scale`` in Tensor ops."""
        (mask,) = ctx.saved_tensors
        return grad * mask.to(grad.dtype) * ctx.scale, None, None, None

    @staticmethod
    def backward_arrays(ctx, grad):
        (mask,) = ctx.saved_arrays
        apply = fused.kernel(ctx.xp, "dropout.dropout_backward") or reference.dropout_backward
        return apply(grad, mask, ctx.scale), None, None, None
