"""Tensor methods for determinants, inverses and decompositions (the ``torch.*`` twins of
``torch.linalg``): ``det``, ``slogdet``, ``inverse``, ``svd`` (returning V), ``qr``, ``cholesky``,
``cholesky_solve``, ``lu_solve``, ``triangular_solve``, ``matrix_exp``, ``cross``, ...

They call ``ember.linalg``, which needs nothing of ``Tensor`` but the core.
"""

from __future__ import annotations

import warnings

from ember import linalg
from ember.methods._out import accepts_out
from ember.methods._util import return_type
from ember.methods.join import cat
from ember.ops import decompositions as dec

SlogdetResult = return_type("slogdet", ["sign", "logabsdet"])
SVDResult = return_type("svd", ["U", "S", "V"])
QRResult = return_type("qr", ["Q", "R"])
TriangularSolveResult = return_type("triangular_solve", ["solution", "cloned_coefficient"])
LUUnpackResult = return_type("lu_unpack", ["P", "L", "U"])
GeqrfResult = return_type("geqrf", ["a", "tau"])


_WARNED: set = set()


def _deprecated(old: str, new: str) -> None:
    """PyTorch's once-per-process warning for the old top-level decompositions."""
    if old not in _WARNED:
        _WARNED.add(old)
        warnings.warn(
            f"torch.{old} is deprecated in favor of torch.{new} and will be removed in a "
            "future PyTorch release.",
            UserWarning,
            stacklevel=3,
        )


class DecompositionMethods:
    __slots__ = ()

    def det(self):
        """The determinant of square matrices (``torch.linalg.det``)."""
        return linalg.det(self)

    def logdet(self):
        """``log(det(A))``: NaN where the determinant is negative, -inf where it is 0."""
        sign, logabs = linalg.slogdet(self)
        if sign.is_complex():  # log det = log(sign) + log|det|, a complex number
            return sign.log() + logabs
        nan = logabs.new_full((), float("nan"))
        return logabs.where(sign >= 0, nan).where(sign != 0, logabs.new_full((), float("-inf")))

    def slogdet(self):
        """``(sign, logabsdet)`` of the determinant."""
        return SlogdetResult(*linalg.slogdet(self))

    def inverse(self):
        """The inverse of square matrices (``torch.linalg.inv``)."""
        return linalg.inv(self)

    def pinverse(self, rcond: float = 1e-15):
        """The pseudo-inverse, dropping singular values below ``rcond * s_max``."""
        return linalg.pinv(self, rtol=rcond)

    def svd(self, some: bool = True, compute_uv: bool = True):
        """``(U, S, V)`` with ``A = U diag(S) V^T`` (V, not Vh; reduced unless ``some=False``)."""
        if not compute_uv:
            s = linalg.svdvals(self)
            m, n = self.shape[-2], self.shape[-1]
            batch = tuple(self.shape[:-2])
            return SVDResult(self.new_zeros(batch + (m, m)), s, self.new_zeros(batch + (n, n)))
        u, s, vh = linalg.svd(self, full_matrices=not some)
        return SVDResult(u, s, vh.mH)

    def qr(self, some: bool = True):
        """``(Q, R)`` with ``A = Q R`` (reduced unless ``some=False``)."""
        _deprecated("qr", "linalg.qr")
        return QRResult(*linalg.qr(self, "reduced" if some else "complete"))

    def cholesky(self, upper: bool = False):
        """The Cholesky factor of symmetric positive-definite matrices."""
        _deprecated("cholesky", "linalg.cholesky")
        return linalg.cholesky(self, upper=upper)

    def cholesky_solve(self, input2, upper: bool = False):
        """``A^-1 B`` for ``B = self`` and the Cholesky factor ``input2`` of A."""
        la = linalg
        low = input2.mH if upper else input2  # A = low @ low^H
        return la.solve_triangular(low.mH, la.solve_triangular(low, self, upper=False), upper=True)

    def cholesky_inverse(self, upper: bool = False):
        """``A^-1`` from the Cholesky factor ``self`` of A."""
        n = self.shape[-1]
        eye = self._wrap_like(self.xp.eye(n, dtype=self._data.dtype))
        return eye.expand(tuple(self.shape)).cholesky_solve(self, upper)

    def lu_solve(self, LU_data, LU_pivots):
        """``A^-1 b`` for ``b = self`` from ``torch.linalg.lu_factor``'s output."""
        _deprecated("lu_solve", "linalg.lu_solve")
        return linalg.lu_solve(LU_data, LU_pivots, self)

    def triangular_solve(self, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False):
        """``(X, A.clone())`` with ``A X = b`` (``A^T X = b`` if ``transpose``) for ``b = self``."""
        _deprecated("triangular_solve", "linalg.solve_triangular")
        coefficient = A.mT if transpose else A
        solution = linalg.solve_triangular(
            coefficient, self, upper=upper != transpose, unitriangular=unitriangular
        )
        return TriangularSolveResult(solution, A.clone())

    def matrix_exp(self):
        """The matrix exponential."""
        return linalg.matrix_exp(self)

    def cross(self, other, dim=None):
        """The cross product along ``dim`` (default: the first dim of size 3, with a warning)."""
        if dim is None:
            dim = next((d for d, n in enumerate(self.shape) if n == 3), None)
            if dim is None:
                raise RuntimeError(f"cross: no dimension of size 3 in input of shape {list(self.shape)}")
            warnings.warn(
                "Using torch.cross without specifying the dim arg is deprecated. Please "
                "either pass the dim explicitly or simply use torch.linalg.cross.",
                UserWarning,
                stacklevel=2,
            )
        return linalg.cross(self, other, dim=dim)

    def orgqr(self, input2):
        """The Householder product of ``self`` and ``tau`` (``linalg.householder_product``)."""
        return linalg.householder_product(self, input2)

    def ormqr(self, input2, input3, left: bool = True, transpose: bool = False):
        """``op(Q) @ input3`` (or ``input3 @ op(Q)``) for ``Q`` from ``geqrf``'s ``(self, tau)``."""
        m, k = self.shape[-2], input2.shape[-1]
        batch = tuple(self.shape[:-2])
        padded = cat([self[..., :k], self.new_zeros(batch + (m, m - k))], -1)
        q = linalg.householder_product(padded, input2)
        q = q.mH if transpose else q
        return q @ input3 if left else input3 @ q

    def lu(self, pivot: bool = True, get_infos: bool = False):
        """``(LU, pivots)`` (and ``infos`` when asked), as ``torch.lu``."""
        return lu(self, pivot, get_infos)

    def geqrf(self):
        """``(a, tau)``: QR as LAPACK stores it (R on and above the diagonal); no gradient."""
        if self.is_complex():
            raise NotImplementedError("geqrf: complex inputs are not implemented in ember")
        a, tau = _householder_qr(self.xp, self.detach()._data)
        return GeqrfResult(self._wrap_like(a), self._wrap_like(tau))


def _householder_qr(xp, a):
    """Batched Householder QR in LAPACK's ``geqrf`` layout (``v[0] = 1`` implied)."""
    r = a.astype(a.dtype, copy=True)
    m, n = r.shape[-2], r.shape[-1]
    k = min(m, n)
    tau = xp.zeros(r.shape[:-2] + (k,), dtype=r.dtype)
    for j in range(k):
        alpha = r[..., j, j].copy()
        tail = r[..., j + 1 :, j]
        tail_norm = xp.sqrt((tail * tail).sum(-1))
        beta = -xp.copysign(xp.sqrt(alpha * alpha + tail_norm * tail_norm), alpha)
        active = tail_norm != 0
        safe = xp.where(active, alpha - beta, 1.0)
        v = xp.concatenate([xp.ones_like(alpha)[..., None], tail / safe[..., None]], -1)
        t = xp.where(active, (beta - alpha) / xp.where(active, beta, 1.0), 0.0)
        block = r[..., j:, j:]
        block -= (t[..., None] * v)[..., :, None] * (v[..., None, :] @ block)
        r[..., j, j] = xp.where(active, beta, alpha)
        r[..., j + 1 :, j] = xp.where(active[..., None], v[..., 1:], tail)
        tau[..., j] = t
    return r, tau


def lu(A, pivot: bool = True, get_infos: bool = False):
    """``(LU, pivots)`` (and ``infos`` when asked), as ``torch.lu``."""
    _deprecated("lu", "linalg.lu_factor")
    la = linalg
    if get_infos:
        return tuple(la.lu_factor_ex(A, pivot=pivot))
    return tuple(la.lu_factor(A, pivot=pivot))


@accepts_out
def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True):
    """``(P, L, U)`` from packed LU factors and pivots."""
    xp = LU_data.xp
    m, n = LU_data.shape[-2], LU_data.shape[-1]
    k = min(m, n)
    empty = LU_data.new_zeros((0,))
    perm = empty
    if unpack_pivots:
        perm = LU_data._wrap_like(dec.permutation_from_pivots(xp, LU_pivots._data, m, LU_data._data.dtype))
    if not unpack_data:
        return LUUnpackResult(perm, empty, empty)
    unit = LU_data._wrap_like(xp.eye(m, k, dtype=LU_data._data.dtype))
    low = LU_data[..., :, :k].tril(-1) + unit
    return LUUnpackResult(perm, low, LU_data[..., :k, :].triu())


def svd_lowrank(A, q: int | None = 6, niter: int = 2, M=None):
    """``(U, S, V)`` of rank ``q`` approximating ``A - M``.

    PyTorch draws a randomized range finder; ember returns the exact truncated SVD (the best
    rank-q approximation, which the randomized one estimates), so results are deterministic.
    """
    source = A if M is None else A - M
    k = min(q if q is not None else 6, source.shape[-2], source.shape[-1])
    u, s, vh = linalg.svd(source, full_matrices=False)
    return SVDResult(u[..., :k], s[..., :k], vh[..., :k, :].mH)


def pca_lowrank(A, q: int | None = None, center: bool = True, niter: int = 2):
    """``(U, S, V)`` of the principal components of ``A`` (columns centred unless asked not to)."""
    if q is None:
        q = min(6, A.shape[-2], A.shape[-1])
    source = A - A.mean(-2, keepdim=True) if center else A
    return svd_lowrank(source, q, niter)


def vander(x, N: int | None = None, increasing: bool = False):
    """The Vandermonde matrix of a 1-D ``x``: powers ``N-1 ... 0`` (``0 ... N-1`` if increasing)."""
    if x.ndim != 1:
        raise RuntimeError(f"vander: x must be a one-dimensional tensor, got shape {list(x.shape)}")
    powers = linalg.vander(x, N=N)
    return powers if increasing else powers.flip(-1)
