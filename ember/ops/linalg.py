"""Matrix products."""

from __future__ import annotations

from ember.ops import Primitive


class MatMul(Primitive):
    """``a @ b`` with NumPy's (and PyTorch's) rules for 1-D operands and batch broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (grad * b if need_a else None), (grad * a if need_b else None)
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            grad_a = (grad.unsqueeze(-2) @ b.mT).squeeze(-2) if need_a else None
            grad_b = a.unsqueeze(-1) * grad.unsqueeze(-2) if need_b else None
            return grad_a, grad_b
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            grad_a = grad.unsqueeze(-1) * b if need_a else None
            grad_b = (a.mT @ grad.unsqueeze(-1)).squeeze(-1) if need_b else None
            return grad_a, grad_b
        grad_a = grad @ b.mT if need_a else None
        grad_b = a.mT @ grad if need_b else None
        return grad_a, grad_b
