"""Matrix functions: inverse, solves, determinants, the matrix exponential and the pseudo-inverse.

Every primitive works on batches (leading dims) of matrices. Backward formulas are written with
ember's own ops (matmul, these primitives), so ``create_graph=True`` differentiates them again.
Decompositions (Cholesky, QR, SVD, eigh, LU) are in ``ember.ops.decompositions``.
"""

from __future__ import annotations

from ember.ops import Primitive
from ember.ops.complex import conj


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (a singular or non-definite matrix)."""


def _shape(a) -> list:
    return list(a.shape)


def _singular(op: str, a, what: str = "singular") -> LinAlgError:
    return LinAlgError(
        f"{op}: the input matrix (shape {_shape(a)}) is {what}, so the operation could not be "
        "completed; check its rank, or use linalg.pinv / linalg.lstsq for a least-squares answer"
    )


def _eye_like(a):
    """The identity of ``a``'s last dim, as a Tensor of ``a``'s dtype and device."""
    return a._wrap_like(a.xp.eye(a.shape[-1], dtype=a._data.dtype))


def diag_embed(v):
    """Square matrices with ``v``'s last dim on the diagonal (differentiable)."""
    return v.unsqueeze(-1) * _eye_like(v)


class Inv(Primitive):
    """``A^-1``; the gradient is ``-A^-T G A^-T``."""

    op_name = "linalg.inv"

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        try:
            out = xp.linalg.inv(a)
        except xp.linalg.LinAlgError:
            raise _singular("linalg.inv", a) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -(out.mH @ grad @ out.mH)


class Solve(Primitive):
    """``X`` with ``A X = B`` for matrices ``B`` (batches broadcast)."""

    op_name = "linalg.solve"

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        try:
            out = xp.linalg.solve(a, b)
        except xp.linalg.LinAlgError:
            raise _singular("linalg.solve", a) from None
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        grad_b = Solve.apply(a.mH, grad)
        grad_a = -(grad_b @ out.mH) if ctx.needs_input_grad[0] else None
        return grad_a, grad_b


def triangle(xp, a, upper: bool, unitriangular: bool = False):
    """The upper or lower triangle of ``a``'s matrices, with ones on the diagonal if asked."""
    t = xp.triu(a) if upper else xp.tril(a)
    if unitriangular:
        diagonal = xp.arange(a.shape[-1])
        t = t.copy()
        t[..., diagonal, diagonal] = 1
    return t


class SolveTriangular(Primitive):
    """``X`` with ``A X = B`` for a triangular ``A`` (only its ``upper`` or lower triangle read)."""

    op_name = "linalg.solve_triangular"

    @staticmethod
    def forward(ctx, a, b, upper, unitriangular):
        xp = ctx.xp
        t = triangle(xp, a, upper, unitriangular)
        diagonal = xp.diagonal(t, axis1=-2, axis2=-1)
        if not unitriangular and bool((diagonal == 0).any()):
            raise _singular("linalg.solve_triangular", a, "singular (a zero on its diagonal)")
        out = xp.linalg.solve(t, b)
        ctx.upper, ctx.unitriangular = upper, unitriangular
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        upper, unit = ctx.upper, ctx.unitriangular
        grad_b = SolveTriangular.apply(a.mH, grad, not upper, unit)
        grad_a = None
        if ctx.needs_input_grad[0]:
            full = -(grad_b @ out.mH)
            grad_a = full.triu(1 if unit else 0) if upper else full.tril(-1 if unit else 0)
        return grad_a, grad_b, None, None


class Slogdet(Primitive):
    """``(sign, log|det A|)``; the gradient of the second is ``A^-T``."""

    op_name = "linalg.slogdet"

    @staticmethod
    def forward(ctx, a):
        sign, logabs = ctx.xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        xp = ctx.xp
        return xp.asarray(sign, dtype=a.dtype), xp.asarray(logabs, dtype=a.real.dtype)

    @staticmethod
    def backward(ctx, grad_sign, grad_logabs):
        (a,) = ctx.saved_tensors
        return grad_logabs.unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mH


class Det(Primitive):
    """``det A``; the gradient is ``det(A) A^-H`` (an inverse: singular ``A`` is refused)."""

    op_name = "linalg.det"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.asarray(ctx.xp.linalg.det(a), dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        scale = (grad * conj(out)).unsqueeze(-1).unsqueeze(-1)
        return scale * Inv.apply(a).mH


def _expm(xp, a):
    """``exp(A)`` by scaling and squaring with a degree-18 Taylor polynomial (float64-accurate)."""
    norm = xp.abs(a).sum(-2).max(-1) if a.size else xp.zeros(a.shape[:-2])
    biggest = float(norm.max()) if norm.size else 0.0
    squarings = 0
    while biggest > 0.25:
        biggest /= 2
        squarings += 1
    scaled = a / (2.0**squarings)
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    result = eye.copy()
    for k in range(18, 0, -1):  # Horner: I + A/1 (I + A/2 (I + ...))
        result = eye + (scaled @ result) / k
    for _ in range(squarings):
        result = result @ result
    return result


class MatrixExp(Primitive):
    """``exp(A)``; the gradient is the upper-right block of ``exp([[A^T, G], [0, A^T]])``."""

    op_name = "linalg.matrix_exp"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _expm(ctx.xp, a)

    @staticmethod
    def backward(ctx, grad):
        from ember.methods.join import cat

        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        zeros = grad.new_zeros(tuple(grad.shape))
        top = cat([a.mH.expand(tuple(grad.shape)), grad], -1)
        bottom = cat([zeros, a.mH.expand(tuple(grad.shape))], -1)
        big = MatrixExp.apply(cat([top, bottom], -2))
        return big[..., :n, n:]


def largest(xp, values):
    """The largest of ``values`` along the last dim, kept as a size-1 dim (0 when empty)."""
    if values.shape[-1] == 0:
        return xp.zeros(values.shape[:-1] + (1,), values.dtype)
    return values.max(-1, keepdims=True)


class Pinv(Primitive):
    """The Moore-Penrose pseudo-inverse (singular values below ``atol + rtol * max`` dropped)."""

    op_name = "linalg.pinv"

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = ctx.xp
        if hermitian:
            w, v = xp.linalg.eigh(a)
            s = xp.abs(w)
        else:
            u, s, vh = xp.linalg.svd(a, full_matrices=False)
        cutoff = xp.maximum(atol, rtol * largest(xp, s))
        inverse = xp.where(s > cutoff, 1.0 / xp.where(s > cutoff, s, 1.0), 0.0).astype(s.dtype)
        if hermitian:
            inverse = inverse * xp.sign(w)
            out = (v * inverse[..., None, :]) @ xp.conj(xp.swapaxes(v, -1, -2))
        else:
            out = (xp.conj(xp.swapaxes(vh, -1, -2)) * inverse[..., None, :]) @ xp.conj(xp.swapaxes(u, -1, -2))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # d(A+) = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+ (Golub & Pereyra)
        a, p = ctx.saved_tensors
        left = _eye_like(a.mT) - a @ p
        right = _eye_like(a) - p @ a
        return (
            -(p.mH @ grad @ p.mH) + left @ grad.mH @ (p @ p.mH) + (p.mH @ p) @ grad.mH @ right,
            None,
            None,
            None,
        )
