"""The embedding lookup with a fused backward (``ember.backend.fused.embedding``).

``EmbeddingLookup.apply(weight, indices, padding_idx)`` is ``weight[indices]``; its gradient is
the scatter-add of the output gradient's rows into a zero ``weight``-shaped array, with row
``padding_idx`` left zero. ``nn.functional.embedding`` uses it where the fused kernel exists (on
CUDA); elsewhere it keeps the indexing op, whose backward is the same scatter-add.
"""

from __future__ import annotations

from ember.backend import fused, xp_of
from ember.ops import Primitive
from ember.ops.indexing import IndexGradient, index, ufunc_at


def _scatter_rows(grad, indices, num_rows: int, padding_idx: int | None):
    """The composite backward (where no fused kernel exists): ``add.at`` through the backend."""
    xp = xp_of(grad)
    dim = grad.shape[-1]
    out = xp.zeros((num_rows, dim), grad.dtype)
    ufunc_at(xp, "add", out, (indices.reshape(-1),), grad.reshape(-1, dim))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


class EmbeddingLookup(Primitive):
    """Rows of a 2-D ``weight`` at integer ``indices``: output shape ``indices.shape + (dim,)``."""

    op_name = "embedding"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.num_rows, ctx.padding_idx = weight.shape[0], padding_idx
        ctx.save_for_backward(indices)
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        """create_graph: the same scatter-add as differentiable ops."""
        (indices,) = ctx.saved_tensors
        rows = indices._data.reshape(-1)
        dim = grad.shape[-1]
        flat = grad.reshape(-1, dim)
        if ctx.padding_idx is not None:
            keep = ctx.xp.flatnonzero(rows != ctx.padding_idx)
            flat, rows = index(flat, (None, (keep,))), rows[keep]
        return IndexGradient.apply(flat, (ctx.num_rows, dim), (None, (rows,))), None, None

    @staticmethod
    def backward_arrays(ctx, grad):
        (indices,) = ctx.saved_arrays
        kernel = fused.kernel(ctx.xp, "embedding.embedding_backward") or _scatter_rows
        return kernel(grad, indices, ctx.num_rows, ctx.padding_idx), None, None
