"""Private Cholesky factor and triangular solve, differentiable, for MultivariateNormal.

TODO(coordinator): once ``ember.linalg.cholesky`` / ``solve_triangular`` are merged, use them.
"""

from __future__ import annotations

from ember.ops import Primitive
from ember.tensor import Tensor


def _tril_half(x: Tensor) -> Tensor:
    """The lower triangle with the diagonal halved (Murray's Phi)."""
    return x.tril() * (1.0 - 0.5 * _eye_like(x, x.shape[-1]))


def _eye_like(x: Tensor, n: int) -> Tensor:
    from ember.tensor import make

    return make(x.xp.eye(n, dtype=x._data.dtype))


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


class Cholesky(Primitive):
    @staticmethod
    def forward(ctx, a):
        try:
            out = ctx.xp.linalg.cholesky(a)
        except Exception as exc:  # noqa: BLE001 - numpy or cupy LinAlgError
            raise RuntimeError(
                f"cholesky: the input of shape {list(a.shape)} is not positive-definite ({exc})"
            ) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_tensors
        p = _tril_half(_mT(low) @ grad.tril())
        inner = solve_triangular(_mT(low), p, upper=True)  # L^-T P
        g = _mT(solve_triangular(_mT(low), _mT(inner), upper=True))  # (L^-T P) L^-1
        return 0.5 * (g + _mT(g))


class SolveTriangular(Primitive):
    """``X`` with ``A X = B`` for a triangular ``A`` (lower unless ``upper``)."""

    @staticmethod
    def forward(ctx, a, b, upper):
        xp = ctx.xp
        tri = xp.triu(a) if upper else xp.tril(a)
        out = xp.linalg.solve(*_broadcast_batch(xp, tri, b))
        ctx.upper = upper
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        grad_b = solve_triangular(_mT(a), grad, upper=not ctx.upper)
        grad_a = None
        if ctx.needs_input_grad[0]:
            full = -(grad_b @ _mT(out))
            grad_a = full.triu() if ctx.upper else full.tril()
        return grad_a, grad_b, None


def _broadcast_batch(xp, a, b):
    batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return (xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:]))


def cholesky(a: Tensor) -> Tensor:
    """The lower Cholesky factor ``L`` of a symmetric positive-definite ``a = L L^T``."""
    return Cholesky.apply(a)


def solve_triangular(a: Tensor, b: Tensor, *, upper: bool) -> Tensor:
    """``X`` with ``a X = b`` for a lower (or ``upper``) triangular ``a``; broadcasts batches."""
    return SolveTriangular.apply(a, b, upper)
