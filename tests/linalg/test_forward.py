"""Forward values of ember.linalg and the top-level twins, against NumPy and PyTorch (float64)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

la = ember.linalg
rng = np.random.default_rng(3)
A = rng.standard_normal((2, 4, 4))
B = rng.standard_normal((2, 4, 3))
TALL = rng.standard_normal((5, 3))
SPD = A @ A.transpose(0, 2, 1) + 4 * np.eye(4)
UPPER = np.triu(A) + 3 * np.eye(4)


def e(a):
    return ember.tensor(a)


def _close(mine, ref, atol=1e-9):
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    np.testing.assert_allclose(mine.numpy(), ref, atol=atol, rtol=1e-9, equal_nan=True)


def test_against_numpy():
    _close(la.inv(e(A)), np.linalg.inv(A))
    _close(la.det(e(A)), np.linalg.det(A))
    _close(la.solve(e(A), e(B)), np.linalg.solve(A, B))
    _close(la.cholesky(e(SPD)), np.linalg.cholesky(SPD))
    _close(la.eigvalsh(e(SPD)), np.linalg.eigvalsh(SPD))
    _close(la.svdvals(e(A)), np.linalg.svd(A, compute_uv=False))
    _close(la.pinv(e(B)), np.linalg.pinv(B))
    _close(la.matrix_rank(e(TALL @ TALL.T)), np.linalg.matrix_rank(TALL @ TALL.T))
    _close(la.slogdet(e(A)).logabsdet, np.linalg.slogdet(A)[1])
    _close(la.tensorinv(e(A[0].reshape(4, 2, 2)), ind=1), np.linalg.tensorinv(A[0].reshape(4, 2, 2), 1))
    _close(la.cond(e(A)), np.linalg.cond(A))
    _close(la.matrix_power(e(A), -2), np.linalg.matrix_power(A, -2))
    p, low, up = la.lu(e(A))
    _close(p @ low @ up, A)
    q, r = la.qr(e(TALL))
    _close(q @ r, TALL)
    u, s, vh = la.svd(e(B), full_matrices=False)
    _close((u * s.unsqueeze(-2)) @ vh, B)
    w, v = la.eigh(e(SPD))
    _close((v * w.unsqueeze(-2)) @ v.mT, SPD)


def test_matrix_exp_series():
    small = A[0] / 4
    series = sum(np.linalg.matrix_power(small, k) / math.factorial(k) for k in range(30))
    _close(la.matrix_exp(e(small)), series, atol=1e-12)


def _torch_cases(torch):
    t = getattr(torch, "tensor", None)
    lu_data, piv = _torch_lu(torch)
    cases = {
        "inv": (lambda: la.inv(e(A)), lambda: torch.linalg.inv(t(A))),
        "solve_vector": (
            lambda: la.solve(e(A), e(B[..., 0])),
            lambda: torch.linalg.solve(t(A), t(B[..., 0])),
        ),
        "solve_right": (
            lambda: la.solve(e(A), e(B.transpose(0, 2, 1)), left=False),
            lambda: torch.linalg.solve(t(A), t(B.transpose(0, 2, 1)), left=False),
        ),
        "solve_triangular": (
            lambda: la.solve_triangular(e(UPPER), e(B), upper=True),
            lambda: torch.linalg.solve_triangular(t(UPPER), t(B), upper=True),
        ),
        "cholesky_upper": (
            lambda: la.cholesky(e(SPD), upper=True),
            lambda: torch.linalg.cholesky(t(SPD), upper=True),
        ),
        "matrix_exp": (lambda: la.matrix_exp(e(A)), lambda: torch.linalg.matrix_exp(t(A))),
        "pinv_hermitian": (
            lambda: la.pinv(e(SPD), hermitian=True),
            lambda: torch.linalg.pinv(t(SPD), hermitian=True),
        ),
        "lstsq": (
            lambda: la.lstsq(e(TALL), e(B[0, :, :2].repeat(2, 0)[:5])).solution,
            lambda: torch.linalg.lstsq(t(TALL), t(B[0, :, :2].repeat(2, 0)[:5])).solution,
        ),
        "lstsq_gelsd_residuals": (
            lambda: la.lstsq(e(TALL), e(B[0, :, :2].repeat(2, 0)[:5]), driver="gelsd").residuals,
            lambda: torch.linalg.lstsq(t(TALL), t(B[0, :, :2].repeat(2, 0)[:5]), driver="gelsd").residuals,
        ),
        "lu_factor": (lambda: la.lu_factor(e(A)).LU, lambda: lu_data),
        "pivots": (lambda: la.lu_factor(e(A)).pivots, lambda: piv),
        "lu_solve": (
            lambda: la.lu_solve(e(lu_data.numpy()), e(piv.numpy()), e(B)),
            lambda: torch.linalg.lu_solve(lu_data, piv, t(B)),
        ),
        "lu_solve_adjoint": (
            lambda: la.lu_solve(e(lu_data.numpy()), e(piv.numpy()), e(B), adjoint=True),
            lambda: torch.linalg.lu_solve(lu_data, piv, t(B), adjoint=True),
        ),
        "cond_1": (lambda: la.cond(e(A), 1), lambda: torch.linalg.cond(t(A), 1)),
        "cross": (
            lambda: la.cross(e(B[:, :3]), e(A[:, :3, :3])),
            lambda: torch.linalg.cross(t(B[:, :3]), t(A[:, :3, :3])),
        ),
        "vander": (lambda: la.vander(e(B[0, 0]), N=5), lambda: torch.linalg.vander(t(B[0, 0]), N=5)),
        "vecdot": (lambda: la.vecdot(e(A), e(B[..., :1])), lambda: torch.linalg.vecdot(t(A), t(B[..., :1]))),
        "multi_dot": (
            lambda: la.multi_dot([e(B[0, :, 0]), e(A[0]), e(B[0])]),
            lambda: torch.linalg.multi_dot([t(B[0, :, 0]), t(A[0]), t(B[0])]),
        ),
        "norm": (lambda: la.norm(e(A)), lambda: torch.linalg.norm(t(A))),
        "norm_matrix_2": (lambda: la.norm(e(A[0]), 2), lambda: torch.linalg.norm(t(A[0]), 2)),
        "tensorsolve": (
            lambda: la.tensorsolve(e(A[0].reshape(2, 2, 4)), e(B[0, :, 0].reshape(2, 2))),
            lambda: torch.linalg.tensorsolve(t(A[0].reshape(2, 2, 4)), t(B[0, :, 0].reshape(2, 2))),
        ),
        "householder_product": (
            lambda: la.householder_product(e(TALL), e(np.array([1.2, 0.7]))),
            lambda: torch.linalg.householder_product(t(TALL), t(np.array([1.2, 0.7]))),
        ),
        "diagonal": (lambda: la.diagonal(e(A), offset=1), lambda: torch.linalg.diagonal(t(A), offset=1)),
        "eigvals": (lambda: la.eigvals(e(A)).abs(), lambda: torch.linalg.eigvals(t(A)).abs()),
        # top-level twins
        "logdet": (lambda: ember.logdet(e(A)), lambda: torch.logdet(t(A))),
        "inverse": (lambda: ember.inverse(e(A)), lambda: torch.inverse(t(A))),
        "pinverse": (lambda: e(B).pinverse(), lambda: t(B).pinverse()),
        "svd_S": (lambda: ember.svd(e(B))[1], lambda: torch.svd(t(B))[1]),
        "svd_no_uv": (
            lambda: ember.svd(e(B), compute_uv=False)[0],
            lambda: torch.svd(t(B), compute_uv=False)[0],
        ),
        "cholesky_solve": (
            lambda: ember.cholesky_solve(e(B), la.cholesky(e(SPD))),
            lambda: torch.cholesky_solve(t(B), torch.linalg.cholesky(t(SPD))),
        ),
        "cholesky_solve_upper": (
            lambda: ember.cholesky_solve(e(B), la.cholesky(e(SPD), upper=True), True),
            lambda: torch.cholesky_solve(t(B), torch.linalg.cholesky(t(SPD), upper=True), True),
        ),
        "cholesky_inverse": (
            lambda: ember.cholesky_inverse(la.cholesky(e(SPD[0]))),
            lambda: torch.cholesky_inverse(torch.linalg.cholesky(t(SPD[0]))),
        ),
        "lu_unpack_L": (
            lambda: ember.lu_unpack(e(lu_data.numpy()), e(piv.numpy())).L,
            lambda: torch.lu_unpack(lu_data, piv).L,
        ),
        "lu_unpack_P": (
            lambda: ember.lu_unpack(e(lu_data.numpy()), e(piv.numpy())).P,
            lambda: torch.lu_unpack(lu_data, piv).P,
        ),
        "triangular_solve_T": (
            lambda: ember.triangular_solve(e(B), e(A), True, True)[0],
            lambda: torch.triangular_solve(t(B), t(A), True, True)[0],
        ),
        "matrix_power": (lambda: ember.matrix_power(e(A), -3), lambda: torch.matrix_power(t(A), -3)),
        "geqrf": (lambda: ember.geqrf(e(TALL))[0], lambda: torch.geqrf(t(TALL))[0]),
        "ormqr": (
            lambda: ember.ormqr(*ember.geqrf(e(TALL)), e(B[0, :, :2].repeat(2, 0)[:5]), True, True),
            lambda: torch.ormqr(*torch.geqrf(t(TALL)), t(B[0, :, :2].repeat(2, 0)[:5]), True, True),
        ),
    }
    return cases


def _torch_lu(torch):
    if torch is None:
        return None, None
    return torch.linalg.lu_factor(torch.tensor(A))


CASE_NAMES = sorted(_torch_cases(None))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_against_torch(name):
    torch = torch_or_skip()
    mine, theirs = _torch_cases(torch)[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(mine(), theirs())


def test_cross_default_dim_warns():
    with pytest.warns(UserWarning, match="dim"):
        out = ember.cross(e(B[:, :3]), e(A[:, :3, :3]))
    assert tuple(out.shape) == (2, 3, 3)


def test_singular_matrix_raises_linalg_error():
    singular = e(np.ones((3, 3)))
    with pytest.raises(la.LinAlgError, match="singular"):
        la.inv(singular)
    with pytest.raises(RuntimeError):
        la.solve(singular, e(np.ones((3, 1))))
    inverse, info = la.inv_ex(singular)
    assert int(info) == 1 and bool(inverse.isnan().all())
    with pytest.raises(la.LinAlgError, match="positive-definite"):
        la.cholesky(e(-np.eye(3)))
    assert int(la.cholesky_ex(e(-np.eye(3))).info) == 1
    assert int(la.lu_factor_ex(singular).info) == 1


def test_bad_input_errors_name_the_op():
    with pytest.raises(RuntimeError, match="linalg.inv.*square"):
        la.inv(e(B))
    with pytest.raises(RuntimeError, match="linalg.det.*floating"):
        la.det(ember.ones(3, 3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        la.cholesky(e(np.ones(3)))


def test_named_results_and_float32():
    a32 = ember.tensor(A, dtype=ember.float32)
    sign, logabs = la.slogdet(a32)
    assert logabs.dtype == ember.float32 and sign.dtype == ember.float32
    assert la.inv(a32).dtype == ember.float32
    assert la.svd(a32).U.dtype == ember.float32
    assert la.eigvals(a32).dtype == ember.complex64


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_ldl_against_torch(n):
    torch = torch_or_skip()
    local = np.random.default_rng(n)
    for trial in range(6):
        m = local.standard_normal((2, n, n))
        sym = m + m.transpose(0, 2, 1)
        if trial % 2:
            sym[:, 0, 0] = 0.0  # forces interchanges and 2x2 blocks
        rhs = local.standard_normal((2, n, 3))
        ld, piv, info = la.ldl_factor_ex(e(sym))
        ld_t, piv_t, info_t = torch.linalg.ldl_factor_ex(torch.tensor(sym))
        _close(ld, ld_t)
        np.testing.assert_array_equal(piv.numpy(), piv_t.numpy())
        np.testing.assert_array_equal(info.numpy(), info_t.numpy())
        if not info.numpy().any():
            _close(la.ldl_solve(ld, piv, e(rhs)), np.linalg.solve(sym, rhs), atol=1e-8)


def test_ldl_solve_gradient_and_singular():
    from ember.autograd import gradcheck

    sym = A + A.transpose(0, 2, 1)
    ld, piv = la.ldl_factor(e(sym))
    rhs = ember.tensor(B.copy(), requires_grad=True)
    assert gradcheck(lambda b: la.ldl_solve(ld, piv, b), (rhs,))
    assert int(la.ldl_factor_ex(ember.zeros(3, 3)).info) == 1
    with pytest.raises(la.LinAlgError, match="singular"):
        la.ldl_factor(ember.zeros(3, 3))


def test_lowrank_vander_and_lu_method():
    torch = torch_or_skip()
    x = np.array([1.0, 2.0, 3.0, 0.5])
    _close(ember.vander(e(x)), torch.vander(torch.tensor(x)))
    _close(ember.vander(e(x), 3, True), torch.vander(torch.tensor(x), 3, True))
    s = ember.svd_lowrank(e(TALL), q=2).S
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(TALL, compute_uv=False)[:2])
    u, s, v = ember.pca_lowrank(e(TALL))
    centred = TALL - TALL.mean(0)
    _close((u * s) @ v.mT, centred, atol=1e-9)
    np.testing.assert_array_equal(e(A).lu()[1].numpy(), torch.linalg.lu_factor(torch.tensor(A))[1].numpy())


def test_out_keyword():
    out = ember.empty(4, 4, dtype=ember.float64)
    assert la.inv(e(A[0]), out=out) is out
    _close(out, np.linalg.inv(A[0]))
    q, r = ember.empty(1), ember.empty(1)  # resized, as PyTorch does
    la.qr(ember.tensor(TALL, dtype=ember.float32), out=(q, r))
    assert tuple(q.shape) == (5, 3) and tuple(r.shape) == (3, 3)
    with pytest.raises(RuntimeError, match="dtype"):
        la.det(e(A[0]), out=ember.empty((), dtype=ember.float32))
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        la.det(ember.tensor(A[0], requires_grad=True), out=ember.empty((), dtype=ember.float64))


def test_complex_matrices_forward_and_refused_gradients():
    torch = torch_or_skip()
    c = A + 1j * B[..., :1]
    herm = c @ np.conj(c.transpose(0, 2, 1)) + np.eye(4)
    t = torch.tensor
    for mine, theirs in [
        (la.inv(e(c)), torch.linalg.inv(t(c))),
        (la.det(e(c)), torch.linalg.det(t(c))),
        (la.solve(e(c), e(B + 0j)), torch.linalg.solve(t(c), t(B + 0j))),
        (la.slogdet(e(c)).logabsdet, torch.linalg.slogdet(t(c)).logabsdet),
        (la.cholesky(e(herm)), torch.linalg.cholesky(t(herm))),
        (la.eigvalsh(e(herm)), torch.linalg.eigvalsh(t(herm))),
        (la.pinv(e(c)), torch.linalg.pinv(t(c))),
        (la.matrix_norm(e(c)), torch.linalg.matrix_norm(t(c))),
        (la.matrix_exp(e(c)), torch.linalg.matrix_exp(t(c))),
    ]:
        assert str(mine.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        _close(mine, theirs)
    lu_data, piv = torch.linalg.lu_factor(t(c))
    for adjoint in (False, True):
        _close(
            la.lu_solve(e(lu_data.numpy()), e(piv.numpy()), e(B + 1j), adjoint=adjoint),
            torch.linalg.lu_solve(lu_data, piv, t(B + 1j), adjoint=adjoint),
        )
    low = torch.linalg.cholesky(t(herm))
    _close(ember.cholesky_solve(e(B + 1j), e(low.numpy())), torch.cholesky_solve(t(B + 1j), low))
    _close(ember.logdet(e(c)), torch.logdet(t(c)))
    u, s, v = ember.svd(e(c))
    _close((u * s.to(ember.complex128).unsqueeze(-2)) @ v.mH, c)
    with pytest.raises(NotImplementedError, match="complex"):
        la.ldl_factor(e(herm))


def test_deprecated_top_level_forms_warn_once_like_pytorch():
    from ember.methods import decompositions

    decompositions._WARNED.discard("qr")
    with pytest.warns(UserWarning, match="torch.qr is deprecated"):
        ember.qr(e(A[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.qr(e(A[0]))  # once per process, as PyTorch's TORCH_WARN_ONCE
