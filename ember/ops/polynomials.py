"""Classical orthogonal polynomials of degree ``n`` at ``x`` (Chebyshev, Hermite, Laguerre,
Legendre), by their three-term recurrences; ``n`` may vary per element. No gradient, as in PyTorch.
"""

from __future__ import annotations

from ember.ops import Primitive

# name -> (first-degree polynomial, step giving P_{k+1} from P_k, P_{k-1}, x and k)
_TWO_X = (lambda x: 2 * x, lambda p, q, x, k: 2 * x * p - q)
_FAMILIES = {
    "chebyshev_polynomial_t": (lambda x: x, _TWO_X[1]),
    "chebyshev_polynomial_u": _TWO_X,
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, _TWO_X[1]),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, _TWO_X[1]),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda p, q, x, k: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda p, q, x, k: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x, lambda p, q, x, k: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x, lambda p, q, x, k: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


class Polynomial(Primitive):
    """``P_n(x)`` of the family ``name`` (``shifted`` evaluates at ``2x - 1``)."""

    op_name = "polynomial"

    @staticmethod
    def forward(ctx, x, n, name, shifted):
        xp = ctx.xp
        ctx.name = ("shifted_" if shifted else "") + name
        first, step = _FAMILIES[name]
        x, degree = xp.broadcast_arrays(x, xp.asarray(n).astype(xp.int64))
        at = 2 * x - 1 if shifted else x
        previous, current = xp.ones_like(at), first(at)
        out = xp.where(degree == 0, previous, 0.0)
        out = xp.where(degree == 1, current, out)
        top = int(degree.max()) if degree.size else 0
        for k in range(1, top):
            previous, current = current, step(current, previous, at, k)
            out = xp.where(degree == k + 1, current, out)
        return xp.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"the derivative for '{ctx.name}' is not implemented (as in PyTorch)")
