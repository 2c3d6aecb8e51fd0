"""Matrix products, einsum and diagonals.

``Einsum`` gets a normalised equation (``ember.methods.linalg`` expands ``...``, makes the output
explicit and broadcasts size-1 dims), so here every label has one size. Its gradient for each
operand is another einsum: the output's and the other operands' subscripts contracted to the
operand's own labels; a label found only in that operand is broadcast back, and a repeated label
(a diagonal, as in ``ii->i``) is written back onto the diagonal by ``EinsumEmbed``.
"""

from __future__ import annotations

from ember.ops import Primitive
from ember.ops.complex import conj


class MatMul(Primitive):
    """``a @ b`` with NumPy's (and PyTorch's) rules for 1-D operands and batch broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        out = ctx.xp.matmul(a, b)
        if out.dtype != a.dtype:  # ml_dtypes' bfloat16 matmul answers in float32
            out = out.astype(a.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a, b = conj(a), conj(b)  # complex operands: the gradient uses their conjugates
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


def _split(equation: str):
    lhs, out = equation.split("->")
    return lhs.split(","), out


def _unique(labels: str) -> str:
    return "".join(dict.fromkeys(labels))


class Einsum(Primitive):
    """``einsum(equation, *operands)`` for an explicit equation without ``...``."""

    @staticmethod
    def forward(ctx, equation, *operands):
        xp = ctx.xp
        ctx.equation = equation
        ctx.sizes = {}
        for term, op in zip(_split(equation)[0], operands):
            ctx.sizes.update(zip(term, op.shape))
        ctx.save_for_backward(*operands)
        out = xp.einsum(equation, *operands, optimize=len(operands) > 1)
        if out.dtype != operands[0].dtype:  # ml_dtypes' bfloat16 products answer in float32
            out = out.astype(operands[0].dtype)
        if len(operands) == 1 and xp.may_share_memory(out, operands[0]):
            out = out.copy()  # a permutation or diagonal comes back as a view: the result owns its data
        return out

    @staticmethod
    def backward(ctx, grad):
        terms, out = _split(ctx.equation)
        operands = ctx.saved_tensors
        grads = [None]
        for k, term in enumerate(terms):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != k]
            available = set(out).union(*others)
            labels = _unique(term)
            kept = "".join(c for c in labels if c in available)
            eq = ",".join([out] + others) + "->" + kept
            g = Einsum.apply(eq, grad, *[conj(o) for j, o in enumerate(operands) if j != k])
            if kept != labels:  # labels summed inside this operand alone: broadcast back
                g = g.reshape(tuple(ctx.sizes[c] if c in kept else 1 for c in labels))
                g = g.expand(tuple(ctx.sizes[c] for c in labels))
            if labels != term:
                g = EinsumEmbed.apply(g, labels, term, tuple(ctx.sizes[c] for c in term))
            grads.append(g)
        return tuple(grads)


class EinsumEmbed(Primitive):
    """Zeros of ``shape`` (subscripts ``term``, with repeats) holding ``g`` (``labels``) on the diagonal."""

    op_name = "einsum"

    @staticmethod
    def forward(ctx, g, labels, term, shape):
        xp = ctx.xp
        ctx.labels, ctx.term = labels, term
        out = xp.zeros(shape, g.dtype)
        strides = [sum(out.strides[i] for i, c in enumerate(term) if c == label) for label in labels]
        view = xp.lib.stride_tricks.as_strided(out, shape=g.shape, strides=strides)
        view[...] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return Einsum.apply(ctx.term + "->" + ctx.labels, grad), None, None, None


def _diagonal_index(xp, shape, offset: int):
    """Row and column indices of the ``offset`` diagonal of a matrix of ``shape``."""
    rows, cols = shape
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    i = xp.arange(length)
    return (i - min(offset, 0), i + max(offset, 0))


class Diag(Primitive):
    """``diag``: a 1-d input becomes a matrix with it on the ``offset`` diagonal; a matrix gives that diagonal."""

    @staticmethod
    def forward(ctx, a, offset):
        xp = ctx.xp
        ctx.offset, ctx.shape = offset, a.shape
        if a.ndim == 1:
            n = a.shape[0] + abs(offset)
            out = xp.zeros((n, n), a.dtype)
            out[_diagonal_index(xp, (n, n), offset)] = a
            return out
        return a[_diagonal_index(xp, a.shape, offset)]

    @staticmethod
    def backward(ctx, grad):
        if len(ctx.shape) == 1:
            return Diag.apply(grad, ctx.offset), None
        return DiagEmbed.apply(grad, ctx.offset, ctx.shape), None


class DiagEmbed(Primitive):
    """Zeros of matrix ``shape`` with ``g`` on the ``offset`` diagonal (the adjoint of taking it)."""

    op_name = "diag"

    @staticmethod
    def forward(ctx, g, offset, shape):
        ctx.offset = offset
        out = ctx.xp.zeros(shape, g.dtype)
        out[_diagonal_index(ctx.xp, shape, offset)] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diag.apply(grad, ctx.offset), None, None


def _row_count(shape) -> int:
    """Rows of the 2-D view of ``shape`` (every dim but the last); explicit, since NumPy cannot
    infer a -1 next to a zero-size last dim."""
    count = 1
    for size in shape[:-1]:
        count *= size
    return count


def _rows(a):
    return a.reshape(_row_count(a.shape), a.shape[-1])


class Linear(Primitive):
    """``x @ w.T + b`` for x (..., in), w (out, in), b (out,) or None, as one 2-D matrix product.

    Fused because the composite (transpose, matmul, add) costs three nodes and, on 3-D inputs,
    a stack of small products whose weight gradient the engine must sum; here ``dW`` is one
    product that comes out in the weight's own layout.
    """

    op_name = "linear"

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        out = _rows(x) @ w.T
        if out.dtype != x.dtype:  # ml_dtypes' bfloat16 matmul answers in float32
            out = out.astype(x.dtype)
        if b is not None:
            out += b
        return out.reshape(x.shape[:-1] + (w.shape[0],))

    @staticmethod
    def backward_arrays(ctx, grad):
        x, w = ctx.saved_arrays
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = _rows(grad)
        grads = (
            (g2 @ w).reshape(x.shape) if need_x else None,
            g2.T @ _rows(x) if need_w else None,
            g2.sum(0) if need_b else None,
        )
        if x.dtype.kind == "V":  # bfloat16: ml_dtypes' matmul answers in float32
            return tuple(None if g is None else g.astype(x.dtype) for g in grads)
        return grads

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = grad.reshape(_row_count(grad.shape), grad.shape[-1])
        grad_x = (g2 @ w).reshape(x.shape) if need_x else None
        grad_w = g2.mT @ x.reshape(_row_count(x.shape), x.shape[-1]) if need_w else None
        grad_b = g2.sum(0) if need_b else None
        return grad_x, grad_w, grad_b
