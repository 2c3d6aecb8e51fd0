"""Scaled dot-product attention fused: ``softmax(q k^T * scale + bias) v`` in one primitive.

The composite (matmul, scale, mask fill, the all-masked-row check, softmax, matmul) records
about eight nodes and makes a full-size temporary at each; fused, forward is two batched
matrix products around an in-place softmax, and backward is the closed form

    dv = p^T g,   dp = g v^T,   ds = p * (dp - rowsum(p * dp)),   dq = ds k * scale,   dk = ds^T q * scale

on the saved q, k, v and p. With ``create_graph=True`` the same formula is written with Tensor
ops and ``p`` is rebuilt from ``q`` and ``k``, so the gradients differentiate again.

Measured on the gpt workload's causal attention, (32, 4, 64, 32) float32 (median CPU time,
1 thread, shared 2-core machine, fused and composite interleaved in one process): forward
6.9 -> 6.4 ms, forward + backward 14.4 -> 10.9 ms; with the fused GELU, the gpt benchmark's
training step goes from 447 to 320 ms. Masks as an additive bias cost one pass (0.10 ms here),
against 0.25 ms for ``copyto(..., where=)`` and 0.47 ms for ``where``; row sums by einsum cost a
third of ``sum(-1)`` over rows of 64.
``tests/nn/test_fused_attention.py`` checks it against the composite and PyTorch, to second order.
"""

from __future__ import annotations

import math

from ember import backend
from ember.backend import fused
from ember.ops import Primitive


def _bias(xp, mask, causal: bool, length: int, source: int, dtype):
    """The additive mask: None, the float mask as given, or 0 / -inf from a bool (True = attend) mask."""
    if causal:
        mask = xp.tri(length, source, dtype=bool)  # key j <= query i: top-left aligned
    if mask is None or mask.dtype != bool:
        return mask
    bias = xp.zeros(mask.shape, dtype)
    bias[~mask] = -math.inf
    return bias


def _add(xp, scores, bias):
    """``scores + bias``, in place unless the bias broadcasts the scores to a larger shape."""
    if xp.broadcast(scores, bias).shape == scores.shape:
        scores += bias
        return scores
    return scores + bias


def _row_sums(xp, a, b=None):
    """``sum(a, -1)`` (or ``sum(a * b, -1)``), dims kept, by einsum: about 3x faster than ``a.sum(-1)``
    over (32, 4, 64, 64) float32 rows of 64, and no ``a * b`` temporary."""
    sums = xp.einsum("...j->...", a) if b is None else xp.einsum("...j,...j->...", a, b)
    return sums[..., None]


def _softmax_rows(xp, scores):
    """Softmax over the last axis, in place; a row that is all -inf (masked out) gives zeros."""
    if scores.shape[-1] == 0:
        return
    top = scores.max(axis=-1, keepdims=True)
    dead = top == -math.inf
    top[dead] = 0
    scores -= top
    backend.for_xp(xp).parallel_elementwise(xp.exp, scores, out=scores)
    total = _row_sums(xp, scores)
    total[dead] = 1
    scores /= total


def _weights(q, k, bias, scale: float):
    """``p = softmax(q k^T * scale + bias)`` rebuilt with Tensor ops (the composite), for create_graph."""
    scores = q.matmul(k.mT) * scale
    if bias is not None:
        scores = scores + q._wrap_like(bias)
    return masked_softmax(scores)


def masked_softmax(scores):
    """softmax of a Tensor over its last dim; a row masked everywhere (all -inf) gives zeros, not NaN."""
    dead = (scores == -math.inf).all(-1, keepdim=True)
    if not bool(dead.any()):
        return scores.softmax(-1)
    return scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)


class ScaledDotProductAttention(Primitive):
    """``ScaledDotProductAttention.apply(q, k, v, mask, scale, causal)``: (..., L, E), (..., S, E),
    (..., S, Ev) -> (..., L, Ev), batch dims broadcast.

    ``mask`` is None, a bool mask (True = attend) or a float mask added to the scores, broadcast
    against (..., L, S); it gets no gradient. ``causal`` masks keys after each query instead.
    q, k, v (and a float mask) share one floating dtype.
    """

    op_name = "scaled_dot_product_attention"

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, causal):
        xp = ctx.xp
        bias = _bias(xp, mask, causal, q.shape[-2], k.shape[-2], q.dtype)
        kernel = fused.kernel(xp, "attention.masked_softmax")
        if kernel is not None:
            scores = _fused_weights(xp, kernel, q, k, None if causal else bias, scale, causal)
        elif q.shape[-1] <= k.shape[-2]:  # scale q (E per query) or the scores (S per query): the smaller
            scores = xp.matmul(q * scale, k.swapaxes(-1, -2))
        else:
            scores = xp.matmul(q, k.swapaxes(-1, -2))
            scores *= scale
        if kernel is None:
            if bias is not None:
                scores = _add(xp, scores, bias)
            _softmax_rows(xp, scores)
        out = xp.matmul(scores, v)
        ctx.scale, ctx.bias = scale, bias
        ctx.save_for_backward(q, k, v, scores)
        return out if out.dtype == q.dtype else out.astype(q.dtype)  # bfloat16 GEMMs give float32

    @staticmethod
    def backward(ctx, grad):
        """create_graph: p must depend on q and k in the new graph."""
        q, k, v, _ = ctx.saved_tensors
        return _recorded_backward(ctx, grad, q, k, v)

    @staticmethod
    def backward_arrays(ctx, g):
        q, k, v, p = ctx.saved_arrays
        need_q, need_k, need_v = ctx.needs_input_grad[:3]
        xp, scale = ctx.xp, ctx.scale
        grad_v = xp.matmul(p.swapaxes(-1, -2), g) if need_v else None
        grad_q = grad_k = None
        if need_q or need_k:
            kernel = fused.kernel(xp, "attention.masked_softmax_backward")
            if kernel is not None:
                ds = kernel(p, xp.matmul(g, v.swapaxes(-1, -2)), scale)
            else:
                # the scale folded into g: ds here is d(loss) / d(q k^T), already times scale
                ds = xp.matmul(g * scale, v.swapaxes(-1, -2))
                ds -= _row_sums(xp, ds, p)
                ds *= p
            grad_q = xp.matmul(ds, k) if need_q else None
            grad_k = xp.matmul(ds.swapaxes(-1, -2), q) if need_k else None
        if q.dtype.kind == "V":  # bfloat16: the GEMMs answered in float32
            grad_q, grad_k, grad_v = (
                None if g is None else g.astype(q.dtype) for g in (grad_q, grad_k, grad_v)
            )
        return grad_q, grad_k, grad_v, None, None, None


def _fused_weights(xp, kernel, q, k, bias, scale: float, causal: bool):
    """``p`` by the fused masked softmax; where the mask broadcasts the scores to a larger
    shape (the kernel writes one row per score row), the scores are expanded first."""
    scores = xp.matmul(q, k.swapaxes(-1, -2))
    if bias is not None and xp.broadcast(scores, bias).shape != scores.shape:
        scores = xp.broadcast_to(scores, xp.broadcast(scores, bias).shape)
    return kernel(scores, scale, bias, causal)


def _recorded_backward(ctx, grad, q, k, v):
    """The closed-form backward in Tensor ops, with ``p`` rebuilt from q and k."""
    need_q, need_k, need_v = ctx.needs_input_grad[:3]
    p = _weights(q, k, ctx.bias, ctx.scale)
    grad_v = p.mT.matmul(grad) if need_v else None
    grad_q = grad_k = None
    if need_q or need_k:
        dp = grad.matmul(v.mT)
        ds = p * (dp - (dp * p).sum(-1, keepdim=True)) * ctx.scale
        grad_q = ds.matmul(k) if need_q else None
        grad_k = ds.mT.matmul(q) if need_k else None
    return grad_q, grad_k, grad_v, None, None, None
