"""Gradients of ember.linalg: finite differences (float64) and PyTorch's gradients."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from tests.helpers import torch_or_skip

la = ember.linalg
rng = np.random.default_rng(7)
SQUARE = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
TALL = rng.standard_normal((2, 4, 3))
WIDE = rng.standard_normal((2, 3, 4))
_M = rng.standard_normal((2, 3, 3))
SPD = _M @ _M.transpose(0, 2, 1) + 3 * np.eye(3)
RHS = rng.standard_normal((2, 3, 2))


def _sym(f):
    """``f`` of ``(A + A^T) / 2``: eigh and cholesky read one triangle only."""
    return lambda a, *rest: f((a + a.mT) / 2, *rest)


def _sign_free(outputs):
    """Squares of U/V and the values: invariant to the sign each singular/eigenvector may take."""
    return tuple(o * o for o in outputs)


# name -> (ember function, torch function, inputs)
CASES = {
    "inv": (la.inv, "linalg.inv", (SQUARE,)),
    "det": (la.det, "linalg.det", (SQUARE,)),
    "slogdet": (lambda a: la.slogdet(a)[1], lambda t, a: t.linalg.slogdet(a)[1], (SQUARE,)),
    "solve": (la.solve, "linalg.solve", (SQUARE, RHS)),
    "solve_vector": (la.solve, "linalg.solve", (SQUARE, RHS[..., 0])),
    "solve_right": (
        lambda a, b: la.solve(a, b, left=False),
        lambda t, a, b: t.linalg.solve(a, b, left=False),
        (SQUARE, RHS.transpose(0, 2, 1)),
    ),
    "solve_triangular": (
        lambda a, b: la.solve_triangular(a, b, upper=True),
        lambda t, a, b: t.linalg.solve_triangular(a, b, upper=True),
        (SQUARE, RHS),
    ),
    "solve_triangular_unit": (
        lambda a, b: la.solve_triangular(a, b, upper=False, unitriangular=True),
        lambda t, a, b: t.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
        (SQUARE, RHS),
    ),
    "cholesky": (_sym(la.cholesky), None, (SPD,)),
    "cholesky_upper": (_sym(lambda a: la.cholesky(a, upper=True)), None, (SPD,)),
    "qr_tall": (lambda a: tuple(la.qr(a)), "linalg.qr", (TALL,)),
    "qr_wide": (lambda a: tuple(la.qr(a)), "linalg.qr", (WIDE,)),
    "eigh": (_sym(lambda a: _sign_free(la.eigh(a))), None, (SPD,)),
    "eigvalsh": (_sym(la.eigvalsh), None, (SPD,)),
    "svd_tall": (lambda a: _sign_free(la.svd(a, full_matrices=False)), None, (TALL,)),
    "svd_wide": (lambda a: _sign_free(la.svd(a, full_matrices=False)), None, (WIDE,)),
    "svdvals": (la.svdvals, "linalg.svdvals", (TALL,)),
    "matrix_exp": (la.matrix_exp, "linalg.matrix_exp", (SQUARE / 3,)),
    "pinv_tall": (la.pinv, "linalg.pinv", (TALL,)),
    "pinv_wide": (la.pinv, "linalg.pinv", (WIDE,)),
    "lstsq": (
        lambda a, b: la.lstsq(a, b).solution,
        lambda t, a, b: t.linalg.lstsq(a, b).solution,
        (TALL, TALL[..., :2] + 1),
    ),
    "lu": (lambda a: tuple(la.lu(a))[1:], lambda t, a: tuple(t.linalg.lu(a))[1:], (SQUARE,)),
    "lu_solve": (
        lambda a, b: la.lu_solve(*la.lu_factor(a), b),
        lambda t, a, b: t.linalg.lu_solve(*t.linalg.lu_factor(a), b),
        (SQUARE, RHS),
    ),
    "matrix_norm_nuc": (
        lambda a: la.matrix_norm(a, "nuc"),
        lambda t, a: t.linalg.matrix_norm(a, "nuc"),
        (TALL,),
    ),
    "matrix_norm_2": (lambda a: la.matrix_norm(a, 2), lambda t, a: t.linalg.matrix_norm(a, 2), (TALL,)),
    "cond": (la.cond, "linalg.cond", (SQUARE,)),
    "cross": (la.cross, "linalg.cross", (TALL[:, :3, :], SQUARE)),
    "householder_product": (
        la.householder_product,
        "linalg.householder_product",
        (TALL, rng.uniform(0.5, 1.5, (2, 2))),
    ),
    "vander": (la.vander, "linalg.vander", (RHS[0, :, 0],)),
    "tensorinv": (
        lambda a: la.tensorinv(a, ind=1),
        lambda t, a: t.linalg.tensorinv(a, ind=1),
        (SQUARE[0].reshape(3, 3, 1),),
    ),
}


def _inputs(arrays):
    return tuple(ember.tensor(a.copy(), dtype=ember.float64, requires_grad=True) for a in arrays)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, _, arrays = CASES[name]
    assert gradcheck(fn, _inputs(arrays))


@pytest.mark.parametrize(
    "name",
    [
        "inv",
        "det",
        "solve",
        "cholesky",
        "qr_tall",
        "eigh",
        "svd_tall",
        "matrix_exp",
        "pinv_tall",
        "slogdet",
        "lu",
    ],
)
def test_gradgradcheck(name):
    fn, _, arrays = CASES[name]
    inputs = tuple(ember.tensor(a[:1].copy(), requires_grad=True) for a in arrays)
    assert gradgradcheck(fn, inputs)


def _torch_fn(torch, spec, fn_name):
    if spec is None:  # the same composition written for torch: map ember -> torch names
        return None
    if isinstance(spec, str):
        obj = torch
        for part in spec.split("."):
            obj = getattr(obj, part)
        return lambda t, *a: obj(*a)
    return spec


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[1] is not None))
def test_against_torch(name):
    torch = torch_or_skip()
    fn, spec, arrays = CASES[name]
    mine = _inputs(arrays)
    theirs = tuple(torch.tensor(a.copy(), requires_grad=True) for a in arrays)
    out_e, out_t = fn(*mine), _torch_fn(torch, spec, name)(torch, *theirs)
    out_e = out_e if isinstance(out_e, tuple) else (out_e,)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    weights = [rng.standard_normal(tuple(o.shape)) for o in out_e]
    for oe, ot in zip(out_e, out_t):
        np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), atol=1e-10)
    sum(((o * ember.tensor(w)).sum() for o, w in zip(out_e, weights)), ember.tensor(0.0)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(out_t, weights)).backward()
    for me, th in zip(mine, theirs):
        np.testing.assert_allclose(me.grad.numpy(), th.grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["cholesky", "eigh", "svd"])
def test_decomposition_gradients_against_torch(name):
    """Symmetric / sign-ambiguous outputs: compare on the same gauge-free losses."""
    torch = torch_or_skip()
    source = {"cholesky": SPD, "eigh": SPD, "svd": TALL}[name]
    mine = ember.tensor(source.copy(), requires_grad=True)
    theirs = torch.tensor(source.copy(), requires_grad=True)

    def loss(lib, a):
        if name == "cholesky":
            return (lib.linalg.cholesky(a) * lib.arange(9.0).reshape(3, 3).double()).sum()
        if name == "eigh":
            w, v = lib.linalg.eigh(a)
            return (w * lib.arange(3.0).double()).sum() + (
                v**2 * lib.arange(9.0).reshape(3, 3).double()
            ).sum()
        u, s, vh = lib.linalg.svd(a, full_matrices=False)
        return s.sum() + (u**2).sum(-1).mul(lib.arange(4.0).double()).sum() + (vh**2)[..., 0].sum()

    loss(ember, mine).backward()
    loss(torch, theirs).backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-9)


def _complex(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


C_SQUARE = _complex(2, 3, 3) + 3 * np.eye(3)
C_RHS = _complex(2, 3, 2)
COMPLEX_LOSSES = {
    "inv": lambda lib, a, b: (lib.linalg.inv(a) * lib.tensor(C_SQUARE.conj())).real.sum(),
    "solve": lambda lib, a, b: lib.linalg.solve(a, b).abs().sum(),
    "solve_triangular": lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True).abs().sum(),
    "det": lambda lib, a, b: lib.linalg.det(a).abs().sum() + lib.linalg.det(a).real.sum(),
    "slogdet": lambda lib, a, b: lib.linalg.slogdet(a)[1].sum(),
    "matrix_exp": lambda lib, a, b: lib.linalg.matrix_exp(a / 3).abs().sum(),
    "pinv": lambda lib, a, b: lib.linalg.pinv(b).abs().sum(),
    "mH": lambda lib, a, b: (a.mH @ b).abs().sum(),
    "cholesky": lambda lib, a, b: (
        (lib.linalg.cholesky(_hermitian(a)).abs() ** 2).sum()
        + lib.linalg.cholesky(_hermitian(a), upper=True).imag.sum()
    ),
    "eigh": lambda lib, a, b: (
        (lib.linalg.eigh(_hermitian(a))[1].abs() ** 4).sum() + (lib.linalg.eigvalsh(_hermitian(a)) ** 2).sum()
    ),
    "svd": lambda lib, a, b: (
        _svd_loss(*lib.linalg.svd(b, full_matrices=False))
        + _svd_loss(*lib.linalg.svd(b.mT, full_matrices=False))
        + lib.linalg.svdvals(a).sum()
    ),
    "qr": lambda lib, a, b: _qr_loss(*lib.linalg.qr(b)) + _qr_loss(*lib.linalg.qr(b.mT)),
    "lu": lambda lib, a, b: (lib.linalg.lu(a)[1].abs() ** 2).sum() + lib.linalg.lu(a)[2].imag.sum(),
    "lu_solve": lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b, adjoint=True).abs().sum(),
    "lstsq": lambda lib, a, b: lib.linalg.lstsq(a, b).solution.abs().sum(),
}


def _svd_loss(u, s, vh):
    """Invariant to the phase each singular pair may take, as a well-posed loss must be."""
    return (
        (u.abs() ** 4).sum() + (vh.abs() ** 4).sum() + (s**2).sum() + ((u * s.unsqueeze(-2)) @ vh).real.sum()
    )


def _qr_loss(q, r):
    return (q.abs() ** 4).sum() + (r.abs() ** 2).sum() + (q[..., 0] * r[..., 0, 0].unsqueeze(-1)).real.sum()


def _hermitian(a):
    return a @ a.mH  # positive definite: C_SQUARE is well away from singular


@pytest.mark.parametrize("name", sorted(COMPLEX_LOSSES))
def test_complex_gradients_against_torch(name):
    torch = torch_or_skip()
    mine = [ember.tensor(x, requires_grad=True) for x in (C_SQUARE, C_RHS)]
    theirs = [torch.tensor(x, requires_grad=True) for x in (C_SQUARE, C_RHS)]
    COMPLEX_LOSSES[name](ember, *mine).backward()
    COMPLEX_LOSSES[name](torch, *theirs).backward()
    for m, t in zip(mine, theirs):
        if t.grad is not None:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.resolve_conj().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("complex_input", [False, True])
def test_eig_gradients_against_torch(complex_input):
    torch = torch_or_skip()
    source = SQUARE + (1j * rng.standard_normal(SQUARE.shape) if complex_input else 0)

    def loss(lib, a):
        values, vectors = lib.linalg.eig(a)
        return (vectors.abs() ** 4).sum() + (values**2).real.sum() + lib.linalg.eigvals(a).abs().sum()

    mine = ember.tensor(source, requires_grad=True)
    theirs = torch.tensor(source, requires_grad=True)
    loss(ember, mine).backward()
    loss(torch, theirs).backward()
    assert mine.grad.dtype == (ember.complex128 if complex_input else ember.float64)
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.resolve_conj().numpy(), rtol=1e-8, atol=1e-10)
