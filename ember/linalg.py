"""``ember.linalg``: the vector and matrix functions PyTorch keeps in ``torch.linalg``.

Inputs are (batches of) matrices in their last two dims. Gradients flow through inverses,
solves, determinants, Cholesky, QR, SVD, eigh, LU, the matrix exponential and the
pseudo-inverse (primitives in ``ember.ops.matrix`` and ``ember.ops.decompositions``); the rest
is composed from them. ``eig``/``eigvals`` give complex results.

>>> import ember
>>> a = ember.tensor([[2.0, 1.0], [1.0, 3.0]])
>>> ember.linalg.det(a)
tensor(5.)
"""

from __future__ import annotations

import functools
import inspect
import math

from ember import dtypes
from ember._linalg_norms import (
    cross,
    diagonal,
    matmul,
    matrix_norm,
    multi_dot,
    norm,
    vander,
    vecdot,
    vector_norm,
)
from ember.methods._out import add_out_to
from ember.methods._util import return_type
from ember.ops import decompositions as dec
from ember.ops import ldl, matrix
from ember.ops.matrix import LinAlgError

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]

SlogdetResult = return_type("linalg_slogdet", ["sign", "logabsdet"])
EighResult = return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
EigResult = return_type("linalg_eig", ["eigenvalues", "eigenvectors"])
QRResult = return_type("linalg_qr", ["Q", "R"])
SVDResult = return_type("linalg_svd", ["U", "S", "Vh"])
LUResult = return_type("linalg_lu", ["P", "L", "U"])
LUFactorResult = return_type("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
InvExResult = return_type("linalg_inv_ex", ["inverse", "info"])
CholeskyExResult = return_type("linalg_cholesky_ex", ["L", "info"])
SolveExResult = return_type("linalg_solve_ex", ["result", "info"])
LDLFactorResult = return_type("linalg_ldl_factor", ["LD", "pivots"])
LDLFactorExResult = return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
LstsqResult = return_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


# -- checks -------------------------------------------------------------------------------------
def _matrix(op: str, a, square: bool = False):
    """``a`` checked to be a floating or complex (batch of) matrix, square when asked."""
    if not hasattr(a, "_data"):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a._data.ndim < 2:
        raise RuntimeError(
            f"{op}: the input tensor A must have at least 2 dimensions, got shape {list(a.shape)}"
        )
    if a._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got {a.dtype} "
            f"(shape {list(a.shape)})"
        )
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are {a.shape[-2]} by "
            f"{a.shape[-1]} matrices (shape {list(a.shape)})"
        )
    return a


def _same_dtype(op: str, a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}: Expected A and B to have the same dtype, but found A of type {a.dtype} and B "
            f"of type {b.dtype} instead"
        )


def _is_vector_rhs(a, b) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) when it is 1-D or A's shape minus one dim."""
    return b._data.ndim == 1 or (b._data.ndim == a._data.ndim - 1 and b.shape == a.shape[:-1])


def _info(a, failed: bool = False):
    xp = a.xp
    return a._wrap_like(xp.full(tuple(a.shape[:-2]), int(failed), dtype=xp.int32))


def _nan_like(a):
    return a._wrap_like(a.xp.full(tuple(a.shape), float("nan"), dtype=a._data.dtype))


# -- inverses and solves --------------------------------------------------------------------------
def inv(A):
    """The inverse of square matrices; LinAlgError if singular."""
    return matrix.Inv.apply(_matrix("linalg.inv", A, True))


def inv_ex(A, *, check_errors: bool = False):
    """``(inverse, info)``: info is 0 where the inverse exists (NaNs and 1 where it does not)."""
    try:
        return InvExResult(inv(A), _info(A))
    except LinAlgError:
        if check_errors:
            raise
        return InvExResult(_nan_like(A), _info(A, True))


def solve(A, B, *, left: bool = True):
    """``X`` with ``A X = B`` (``X A = B`` when ``left=False``); B may be a (batch of) vector(s)."""
    _matrix("linalg.solve", A, True)
    _same_dtype("linalg.solve", A, B)
    vector = _is_vector_rhs(A, B)
    if not left:
        if vector:
            return solve(A.mT, B)
        return solve(A.mT, B.mT).mT
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: incompatible shapes of A {list(A.shape)} and B {list(B.shape)}: B "
            f"needs {A.shape[-1]} rows"
        )
    out = matrix.Solve.apply(A, rhs)
    return out.squeeze(-1) if vector else out


def solve_ex(A, B, *, left: bool = True, check_errors: bool = False):
    """``(result, info)`` of :func:`solve`."""
    try:
        return SolveExResult(solve(A, B, left=left), _info(A))
    except LinAlgError:
        if check_errors:
            raise
        shape = tuple(B.shape)
        return SolveExResult(B._wrap_like(B.xp.full(shape, float("nan"), B._data.dtype)), _info(A, True))


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False):
    """``X`` with ``A X = B`` for triangular ``A`` (only the named triangle of A is read)."""
    _matrix("linalg.solve_triangular", A, True)
    _matrix("linalg.solve_triangular", B)
    _same_dtype("linalg.solve_triangular", A, B)
    if not left:
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"linalg.solve_triangular: incompatible shapes of A {list(A.shape)} and B "
            f"{list(B.shape)}: B needs {A.shape[-1]} rows"
        )
    return matrix.SolveTriangular.apply(A, B, bool(upper), bool(unitriangular))


def pinv(A, rcond=None, hermitian: bool = False, *, atol=None, rtol=None):
    """The Moore-Penrose pseudo-inverse: small singular values dropped.

    ``rcond`` is PyTorch's deprecated name of ``rtol`` (and may not be given with it or ``atol``).
    """
    _matrix("linalg.pinv", A, hermitian)
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError(
                "linalg.pinv(): rcond is the deprecated name of rtol; give either "
                "rcond or atol/rtol, not both"
            )
        rtol = rcond
    atol, rtol = _tolerances(A, atol, rtol)
    return matrix.Pinv.apply(A, atol, rtol, bool(hermitian))


def _tolerances(A, atol, rtol):
    """PyTorch's defaults: rtol = eps * max(m, n) unless atol alone is given."""
    if rtol is None:
        rtol = (
            0.0
            if atol is not None and atol > 0
            else dtypes.finfo(A.dtype).eps * max(A.shape[-2], A.shape[-1])
        )
    return float(0.0 if atol is None else atol), float(rtol)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of ``A X = B``: ``(solution, residuals, rank, singular_values)``.

    The solution is ``pinv(A) @ B`` (differentiable); residuals and singular values are filled
    for the drivers 'gelsd' and 'gelss' as in PyTorch, and are empty otherwise.
    """
    _matrix("linalg.lstsq", A)
    _same_dtype("linalg.lstsq", A, B)
    vector = B._data.ndim == A._data.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.shape[-2] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.lstsq: A {list(A.shape)} and B {list(B.shape)} need the same number of rows"
        )
    rtol = rcond if rcond is not None and rcond >= 0 else None
    solution = pinv(A, rtol=rtol) @ rhs
    rank = matrix_rank(A, rtol=rtol)
    empty = A._wrap_like(A.xp.zeros((0,), A._data.dtype))
    residuals, values = empty, empty
    if driver in ("gelsd", "gelss"):
        values = svdvals(A)
        m, n = A.shape[-2], A.shape[-1]
        if m > n and bool((rank == n).all()):
            residuals = ((A @ solution - rhs).abs() ** 2).sum(-2)
    if vector:
        solution = solution.squeeze(-1)
    return LstsqResult(solution, residuals, rank, values)


def tensorinv(A, ind: int = 2):
    """The inverse of ``A`` seen as a matrix of its first ``ind`` dims by the rest."""
    rows = math.prod(A.shape[:ind])
    cols = math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(
            f"linalg.tensorinv: the product of the first {ind} dims ({rows}) must equal that of "
            f"the rest ({cols}) (shape {list(A.shape)})"
        )
    return inv(A.reshape(rows, cols)).reshape(tuple(A.shape[ind:]) + tuple(A.shape[:ind]))


def tensorsolve(A, B, dims=None):
    """``X`` with ``tensordot(A, X, X.ndim) = B``; ``dims`` of A are moved to the end first."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in dims], *dims)
    rest = tuple(A.shape[B.ndim :])
    rows, cols = math.prod(B.shape), math.prod(rest)
    if rows != cols or tuple(A.shape[: B.ndim]) != tuple(B.shape):
        raise RuntimeError(
            f"linalg.tensorsolve: A {list(A.shape)} does not fit B {list(B.shape)}: A's leading "
            "dims must be B's shape and the rest must have as many elements"
        )
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(rest)


# -- determinants ---------------------------------------------------------------------------------
def det(A):
    """The determinant of square matrices."""
    return matrix.Det.apply(_matrix("linalg.det", A, True))


def slogdet(A):
    """``(sign, logabsdet)``: the sign and log of the absolute value of the determinant."""
    sign, logabs = matrix.Slogdet.apply(_matrix("linalg.slogdet", A, True))
    return SlogdetResult(sign, logabs)


# -- decompositions -------------------------------------------------------------------------------
def cholesky(A, *, upper: bool = False):
    """The lower (or upper) Cholesky factor of symmetric positive-definite matrices."""
    low = dec.Cholesky.apply(_matrix("linalg.cholesky", A, True))
    return low.mH if upper else low


def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False):
    """``(L, info)`` of :func:`cholesky`; info is nonzero where A is not positive-definite."""
    try:
        return CholeskyExResult(cholesky(A, upper=upper), _info(A))
    except LinAlgError:
        if check_errors:
            raise
        return CholeskyExResult(_nan_like(A), _info(A, True))


def qr(A, mode: str = "reduced"):
    """``(Q, R)`` with ``A = Q R``; ``mode`` is 'reduced', 'complete' or 'r' (Q empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"linalg.qr: qr received unrecognized mode {mode!r} but expected one "
            "of 'reduced' (default), 'r', or 'complete'"
        )
    return QRResult(*dec.QR.apply(_matrix("linalg.qr", A), mode))


def eigh(A, UPLO: str = "L"):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices (one triangle read)."""
    _check_uplo(UPLO)
    return EighResult(*dec.Eigh.apply(_matrix("linalg.eigh", A, True), UPLO.upper()))


def eigvalsh(A, UPLO: str = "L"):
    """The eigenvalues (ascending) of symmetric matrices."""
    return eigh(A, UPLO).eigenvalues


def _check_uplo(uplo):
    if not isinstance(uplo, str) or uplo.upper() not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: Expected UPLO argument to be 'L' or 'U', but got {uplo!r}")


def svd(A, full_matrices: bool = True, *, driver=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``; S descending."""
    return SVDResult(*dec.SVD.apply(_matrix("linalg.svd", A), bool(full_matrices)))


def svdvals(A, *, driver=None):
    """The singular values, descending."""
    return svd(A, full_matrices=False).S


def eig(A):
    """Eigenvalues and unit eigenvectors of general square matrices, as complex tensors."""
    return EigResult(*dec.Eig.apply(_matrix("linalg.eig", A, True), True))


def eigvals(A):
    """Eigenvalues of general square matrices, as a complex tensor."""
    return dec.Eig.apply(_matrix("linalg.eigvals", A, True), False)


def lu_factor(A, *, pivot: bool = True):
    """``(LU, pivots)``: the packed factors of ``A = P L U`` and 1-based LAPACK pivots (int32)."""
    _need_pivot(pivot)
    packed, pivots = dec.lu_factor(A.xp, _matrix("linalg.lu_factor", A)._data)
    if A.requires_grad and A.shape[-1] == A.shape[-2]:  # the packed factors, differentiably
        _, low, up = dec.LU.apply(A)
        return LUFactorResult(low.tril(-1) + up, A._wrap_like(pivots))
    return LUFactorResult(A._wrap_like(packed), A._wrap_like(pivots))


def lu_factor_ex(A, *, pivot: bool = True, check_errors: bool = False):
    """``(LU, pivots, info)``; info is nonzero where U has a zero on its diagonal."""
    packed, pivots = lu_factor(A, pivot=pivot)
    diagonal = packed._data.diagonal(0, -2, -1)
    xp = A.xp
    info = xp.where((diagonal == 0).any(-1), 1, 0).astype(xp.int32)
    if check_errors and bool(info.any()):
        raise LinAlgError(
            f"linalg.lu_factor_ex: the factorization of a matrix of shape "
            f"{list(A.shape)} has a zero pivot: U is singular"
        )
    return LUFactorExResult(packed, pivots, A._wrap_like(info))


def _need_pivot(pivot):
    if not pivot:
        raise RuntimeError(
            "linalg.lu: LU without pivoting is not implemented on the CPU "
            "(PyTorch supports it on CUDA only); use pivot=True"
        )


def lu(A, *, pivot: bool = True):
    """``(P, L, U)`` with ``A = P L U``; differentiable for square A."""
    _need_pivot(pivot)
    return LUResult(*dec.LU.apply(_matrix("linalg.lu", A)))


def lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False):
    """``X`` with ``A X = B`` from ``lu_factor``'s output (``A^T X = B`` when ``adjoint``).

    Differentiable in B and in LU.
    """
    _matrix("linalg.lu_solve", LU, True)
    perm = LU._wrap_like(dec.permutation_from_pivots(LU.xp, pivots._data, LU.shape[-1], LU._data.dtype))
    low = LU.tril(-1) + matrix.diag_embed(LU.new_ones(tuple(LU.shape[:-1])))
    up = LU.triu()
    if not left:  # X op(A) = B  <=>  op(A)^H X^H = B^H
        return lu_solve(LU, pivots, B.mH, adjoint=not adjoint).mH
    if adjoint:  # A^H = U^H L^H P^T
        y = solve_triangular(up.mH, B, upper=False)
        y = solve_triangular(low.mH, y, upper=True, unitriangular=True)
        return perm @ y
    y = solve_triangular(low, perm.mT @ B, upper=False, unitriangular=True)
    return solve_triangular(up, y, upper=True)


def ldl_factor_ex(A, *, hermitian: bool = False, check_errors: bool = False):
    """``(LD, pivots, info)``: the Bunch-Kaufman LDL^T factors of symmetric matrices (no gradient).

    Only the lower triangle of A is read; the layout is LAPACK's ``sytrf`` (see
    ``ember.ops.ldl``). info is k > 0 where ``D[k-1, k-1]`` is exactly zero.
    """
    _matrix("linalg.ldl_factor", A, True)
    if A.is_complex():
        raise NotImplementedError("linalg.ldl_factor: complex matrices are not implemented in ember")
    packed, pivots, info = ldl.ldl_factor(A.xp, A.detach()._data)
    if check_errors and bool(info.any()):
        raise LinAlgError(
            f"linalg.ldl_factor: the factorization of a matrix of shape "
            f"{list(A.shape)} has a zero pivot: D is singular"
        )
    wrap = A._wrap_like
    return LDLFactorExResult(wrap(packed), wrap(pivots), wrap(info))


def ldl_factor(A, *, hermitian: bool = False):
    """``(LD, pivots)`` of :func:`ldl_factor_ex`; LinAlgError where D is singular."""
    packed, pivots, _ = ldl_factor_ex(A, hermitian=hermitian, check_errors=True)
    return LDLFactorResult(packed, pivots)


def ldl_solve(LD, pivots, B, *, hermitian: bool = False):
    """``X`` with ``A X = B`` from :func:`ldl_factor`'s output (differentiable in B)."""
    _matrix("linalg.ldl_solve", LD, True)
    _matrix("linalg.ldl_solve", B)
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(
            f"linalg.ldl_solve: incompatible shapes of LD {list(LD.shape)} and B "
            f"{list(B.shape)}: B needs {LD.shape[-1]} rows"
        )
    return ldl.LdlSolve.apply(LD, pivots, B)


def householder_product(A, tau):
    """The first n columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^T`` (LAPACK's orgqr)."""
    _matrix("linalg.householder_product", A)
    m, n = A.shape[-2], A.shape[-1]
    k = tau.shape[-1]
    if not (m >= n >= k):
        raise RuntimeError(
            f"linalg.householder_product: expected m >= n >= k, got A "
            f"{list(A.shape)} and tau {list(tau.shape)}"
        )
    eye = A._wrap_like(A.xp.eye(m, dtype=A._data.dtype))
    below = A.tril(-1) + eye[:, :n]
    q = eye[:, :n].expand(tuple(A.shape[:-2]) + (m, n))
    for i in range(k - 1, -1, -1):  # Q = H_1 (H_2 (... H_k I))
        v = below[..., :, i : i + 1]
        q = q - (tau[..., i : i + 1].unsqueeze(-1) * v) @ (v.mH @ q)
    return q


# -- functions of matrices ---------------------------------------------------------------------
def matrix_exp(A):
    """The matrix exponential ``sum_k A^k / k!``."""
    return matrix.MatrixExp.apply(_matrix("linalg.matrix_exp", A, True))


def matrix_power(A, n: int):
    """``A^n`` for an integer n (negative n inverts first)."""
    return _matrix("linalg.matrix_power", A, True).matrix_power(n)


def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False, tol=None):
    """The number of singular values above ``max(atol, rtol * s_max)`` (int64)."""
    _matrix("linalg.matrix_rank", A)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerances(A, atol, rtol)
    values = eigvalsh(A).abs() if hermitian else svdvals(A)
    xp = A.xp
    s = values._data
    cutoff = xp.maximum(atol, rtol * matrix.largest(xp, s))
    return A._wrap_like(xp.asarray((s > cutoff).sum(-1), dtype=xp.int64))


def cond(A, p=None):
    """The condition number ``norm(A, p) * norm(inv(A), p)`` (2-norm: ``s_max / s_min``)."""
    _matrix("linalg.cond", A)
    if p in (None, 2, -2):
        s = svdvals(A)
        ratio = s[..., 0] / s[..., -1]
        return ratio if p != -2 else 1 / ratio
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def _torch_parameter_names(namespace: dict, renames: dict) -> None:
    """Rename parameters to PyTorch's keyword names (``linalg.cholesky(input=A)``).

    PyTorch's documentation says ``A``, but its argument parser accepts ``input`` (and, for
    ``tensorsolve``, ``other``) and refuses ``A=``; the wrapped functions do the same.
    ``renames``: function name -> {ember's parameter name: PyTorch's}.
    """
    for name, names in renames.items():
        namespace[name] = _renamed(namespace[name], names)


def _renamed(fn, names: dict):
    sig = inspect.signature(fn)
    ours = {theirs: mine for mine, theirs in names.items()}

    @functools.wraps(fn)
    def function(*args, **kwargs):
        for key in kwargs:
            if key in names:
                raise TypeError(
                    f"linalg.{fn.__name__}() got an unexpected keyword argument "
                    f"'{key}' (PyTorch's name is '{names[key]}')"
                )
        return fn(*args, **{ours.get(key, key): value for key, value in kwargs.items()})

    function.__signature__ = sig.replace(
        parameters=[p.replace(name=names.get(p.name, p.name)) for p in sig.parameters.values()]
    )
    return function


_torch_parameter_names(
    globals(),
    {
        **{
            name: {"A": "input"}
            for name in (
                "cholesky",
                "cholesky_ex",
                "cond",
                "eig",
                "eigh",
                "eigvals",
                "eigvalsh",
                "householder_product",
                "ldl_factor",
                "ldl_factor_ex",
                "matrix_exp",
                "matrix_norm",
                "matrix_power",
                "matrix_rank",
                "pinv",
                "solve_triangular",
                "tensorinv",
            )
        },
        "tensorsolve": {"A": "input", "B": "other"},
        "vector_norm": {"x": "input"},
    },
)
add_out_to(globals(), [n for n in __all__ if n not in ("LinAlgError", "multi_dot")] + ["multi_dot"])
