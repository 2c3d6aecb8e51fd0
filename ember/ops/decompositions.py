"""Matrix decompositions: Cholesky, QR, symmetric eigendecomposition, SVD, LU and general eig.

Forward calls the backend's ``xp.linalg`` (LU is computed here, batched, with partial pivoting);
backward formulas are written with ember ops so that they differentiate again. The gradients of
eigenvectors and singular vectors assume distinct eigen/singular values, as PyTorch's do.
"""

from __future__ import annotations

from ember.ops import Primitive
from ember.ops.matrix import LinAlgError, Solve, SolveTriangular, diag_embed


def _swap(xp, a):
    return xp.swapaxes(a, -1, -2)


def _copy_lower_to_upper(m):
    """The (Hermitian off the diagonal) matrix whose lower triangle and diagonal are ``m``'s."""
    lower = m.tril(-1)
    return lower + lower.mH + diag_embed(m.diagonal(0, -2, -1))


class Cholesky(Primitive):
    """The lower Cholesky factor ``L`` of a symmetric positive-definite ``A = L L^T``."""

    op_name = "linalg.cholesky"

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        try:
            out = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise LinAlgError(
                f"linalg.cholesky: the input matrix (shape {list(a.shape)}) is not positive-definite"
            ) from None
        if bool(xp.isnan(out).any()):  # CuPy reports failure with NaNs instead of raising
            raise LinAlgError(
                f"linalg.cholesky: the input matrix (shape {list(a.shape)}) is not positive-definite"
            )
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # A = L L^H gives L^-1 dA L^-H = X + X^H with X = L^-1 dL lower: dL = L Phi(L^-1 dA L^-H)
        (low,) = ctx.saved_tensors
        phi = (low.mH @ grad).tril()
        phi = 0.5 * (phi + phi.tril(-1).mH)  # Hermitian off the diagonal, half the diagonal
        s = SolveTriangular.apply(low.mH, phi, True, False)  # L^-H Phi
        return SolveTriangular.apply(low.mH, s.mH, True, False).mH  # ... L^-1


class QR(Primitive):
    """``Q, R`` with ``A = Q R`` (mode 'reduced', 'complete' or 'r')."""

    op_name = "linalg.qr"

    @staticmethod
    def forward(ctx, a, mode):
        xp = ctx.xp
        q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.mode = mode
        ctx.save_for_backward(a, q, r)
        if mode == "r":
            return xp.zeros((0,), a.dtype), r
        return q, r

    @staticmethod
    def backward(ctx, grad_q, grad_r):
        a, q, r = ctx.saved_tensors
        m, n = a.shape[-2], a.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("linalg.qr: the derivative of mode='r' is not implemented; use mode='reduced'")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                f"linalg.qr: mode='complete' is not differentiable when rows > columns "
                f"(input shape {list(a.shape)})"
            )
        if m >= n:
            return _qr_backward(q, r, grad_q, grad_r), None
        # A = [X | Y] with X square: R = [U | Q^T Y], so Y feeds Q's gradient through Q^T Y
        y = a[..., m:]
        grad_u, grad_v = grad_r[..., :m], grad_r[..., m:]
        grad_x = _qr_backward(q, r[..., :m], grad_q + y @ grad_v.mH, grad_u)
        from ember.methods.join import cat

        return cat([grad_x, q @ grad_v], -1), None


def _qr_backward(q, r, grad_q, grad_r):
    """The gradient of ``A = QR`` for rows >= columns (Walter and Lehmann; PyTorch's formula)."""
    m = r @ grad_r.mH - grad_q.mH @ q
    b = grad_q + q @ _copy_lower_to_upper(m)
    return SolveTriangular.apply(r, b.mH, True, False).mH  # b R^-H


def _pairwise_inverse(values):
    """``F[i, j] = 1 / (values[j] - values[i])`` off the diagonal, 0 on it."""
    diff = values.unsqueeze(-2) - values.unsqueeze(-1)
    eye = diag_embed(values.new_ones(tuple(values.shape)))
    return (1 - eye) / (diff + eye)


class Eigh(Primitive):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices."""

    op_name = "linalg.eigh"

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = ctx.xp.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, grad_w, grad_v):
        w, v = ctx.saved_tensors
        # only the skew-Hermitian part of V^H gV moves A along symmetric directions: the
        # gradient comes out Hermitian, as PyTorch gives it
        m = v.mH @ grad_v
        inner = diag_embed(grad_w) + _pairwise_inverse(w) * (0.5 * (m - m.mH))
        return v @ inner @ v.mH, None


class SVD(Primitive):
    """``U, S, Vh`` with ``A = U diag(S) Vh``; S descending."""

    op_name = "linalg.svd"

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = ctx.xp.linalg.svd(a, full_matrices=full_matrices)
        ctx.full = full_matrices
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_vh):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        if ctx.full and (u.shape[-1] > k or vh.shape[-2] > k):
            raise RuntimeError(
                "linalg.svd: full_matrices=True is not differentiable for a non-square input; "
                "use full_matrices=False"
            )
        return _svd_backward(u, s, vh.mH, grad_u, grad_s, grad_vh.mH), None


def _svd_backward(u, s, v, grad_u, grad_s, grad_v):
    """Townsend's formula for the reduced SVD (distinct, nonzero singular values); for complex
    input, PyTorch's extra diagonal term for the phase each singular pair may take."""
    f = _pairwise_inverse(s * s)
    s_mat = diag_embed(s).to(u.dtype)  # real: products with complex factors need one dtype
    uh_gu = u.mH @ grad_u
    vh_gv = v.mH @ grad_v
    skew_u = uh_gu - uh_gu.mH
    inner = (f * skew_u) @ s_mat + diag_embed(grad_s) + s_mat @ (f * (vh_gv - vh_gv.mH))
    if u.is_complex():
        inner = inner + diag_embed(skew_u.diagonal(0, -2, -1) / (2 * s))
    out = u @ inner @ v.mH
    inv_s = diag_embed(1 / s).to(u.dtype)
    m, n = u.shape[-2], v.shape[-2]
    k = s.shape[-1]
    if m > k:
        out = out + (grad_u - u @ uh_gu) @ inv_s @ v.mH
    if n > k:
        out = out + u @ inv_s @ (grad_v - v @ vh_gv).mH
    return out


def lu_factor(xp, a):
    """Batched LU with partial pivoting: packed ``LU`` and LAPACK-style 1-based ``pivots``."""
    lu = a.astype(a.dtype, copy=True)
    m, n = a.shape[-2], a.shape[-1]
    k = min(m, n)
    batch = a.shape[:-2]
    pivots = xp.empty(batch + (k,), dtype=xp.int32)
    rows = lu.reshape((-1, m, n))
    pivot_rows = pivots.reshape((-1, k))
    index = xp.arange(rows.shape[0])
    for j in range(k):
        p = j + xp.argmax(xp.abs(rows[:, j:, j]), axis=1)
        pivot_rows[:, j] = p + 1
        top, chosen = rows[index, j].copy(), rows[index, p].copy()
        rows[index, j], rows[index, p] = chosen, top
        head = rows[:, j, j]
        safe = xp.where(head == 0, 1, head)
        rows[:, j + 1 :, j] /= safe[:, None]
        rows[:, j + 1 :, j + 1 :] -= rows[:, j + 1 :, j : j + 1] * rows[:, j : j + 1, j + 1 :]
    return rows.reshape(a.shape), pivots


def permutation_from_pivots(xp, pivots, m: int, dtype):
    """The permutation matrices ``P`` (with ``A = P L U``) of LAPACK-style pivots."""
    batch = pivots.shape[:-1]
    flat = pivots.reshape((-1, pivots.shape[-1])) - 1
    order = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    index = xp.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        top, chosen = order[index, j].copy(), order[index, p].copy()
        order[index, j], order[index, p] = chosen, top
    # row j of P^T A is row order[j] of A
    perm = xp.zeros((flat.shape[0], m, m), dtype=dtype)
    perm[index[:, None], order, xp.arange(m)[None, :]] = 1
    return perm.reshape(batch + (m, m))


def unpack_lu(xp, lu):
    """``L`` (unit lower, m x k) and ``U`` (upper, k x n) from a packed LU."""
    m, n = lu.shape[-2], lu.shape[-1]
    k = min(m, n)
    low = triangle_lower_unit(xp, lu[..., :, :k])
    up = xp.triu(lu[..., :k, :])
    return low, up


def triangle_lower_unit(xp, a):
    low = xp.tril(a, -1)
    k = min(a.shape[-2], a.shape[-1])
    diagonal = xp.arange(k)
    low[..., diagonal, diagonal] = 1
    return low


class LU(Primitive):
    """``P, L, U`` with ``A = P L U`` (partial pivoting)."""

    op_name = "linalg.lu"

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        packed, pivots = lu_factor(xp, a)
        low, up = unpack_lu(xp, packed)
        perm = permutation_from_pivots(xp, pivots, a.shape[-2], a.dtype)
        ctx.save_for_backward(perm, low, up)
        return perm, low, up

    @staticmethod
    def backward(ctx, grad_p, grad_l, grad_u):
        perm, low, up = ctx.saved_tensors
        if low.shape[-2] != up.shape[-1]:
            raise RuntimeError(
                f"linalg.lu: the derivative is implemented for square matrices only, got "
                f"L {list(low.shape)} and U {list(up.shape)}"
            )
        # A = P L U: P^T dA = dL U + L dU, so L^-1 P^T dA U^-1 = (L^-1 dL) + (dU U^-1)
        inner = (low.mH @ grad_l).tril(-1) + (grad_u @ up.mH).triu()
        x = SolveTriangular.apply(low.mH, inner, True, True)  # L^-H inner
        return perm @ _right_solve_upper_t(up, x)


def _right_solve_upper_t(up, x):
    """``x U^-H`` for an upper-triangular ``U``."""
    return SolveTriangular.apply(up, x.mH, True, False).mH


class Eig(Primitive):
    """Eigenvalues and eigenvectors (unit columns) of general square matrices, always complex."""

    op_name = "linalg.eig"

    @staticmethod
    def forward(ctx, a, vectors):
        xp = ctx.xp
        if not hasattr(xp.linalg, "eig"):
            raise RuntimeError(
                f"linalg.eig: this backend ({xp.__name__}) has no general "
                "eigendecomposition; move the matrix to the CPU first"
            )
        target = xp.complex64 if a.dtype in (xp.float32, xp.complex64) else xp.complex128
        ctx.real_input = a.dtype.kind == "f"
        w, v = xp.linalg.eig(a)
        w, v = w.astype(target, copy=False), v.astype(target, copy=False)
        ctx.save_for_backward(w, v)
        return (w, v) if vectors else w

    @staticmethod
    def backward(ctx, grad_w, grad_v=None):
        # PyTorch's formula: with E_ij = conj(w_j - w_i), gA = V^-H (diag(gw) + (V^H gV
        # - V^H V Re(diag(V^H gV))) / E) V^H; the second term keeps the columns of unit norm
        w, v = ctx.saved_tensors
        inner = diag_embed(grad_w)
        if grad_v is not None:
            vh_gv = v.mH @ grad_v
            vh_gv = vh_gv - v.mH @ (v * vh_gv.diagonal(0, -2, -1).real.unsqueeze(-2))
            wc = w.conj()
            diff = wc.unsqueeze(-2) - wc.unsqueeze(-1)
            eye = diag_embed(w.real.new_ones(tuple(w.shape)))
            inner = inner + (1 - eye) * vh_gv / (diff + eye)
        grad = Solve.apply(v.mH, inner @ v.mH)
        return (grad.real if ctx.real_input else grad), None
