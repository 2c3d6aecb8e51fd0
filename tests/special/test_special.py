"""ember.special and the top-level special functions: values against SciPy and PyTorch,
gradients against finite differences and PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from ember.ops import special_functions as sf
from tests.helpers import torch_or_skip

scipy_special = pytest.importorskip("scipy.special")
S = ember.special
rng = np.random.default_rng(11)
ANY = np.concatenate([rng.uniform(-3, 3, 20), [0.0, 1.0, -1.0, 0.5, 2.0]])
POSITIVE = rng.uniform(0.2, 5, 12)
UNIT = rng.uniform(0.05, 0.95, 12)

UNARY = [
    "airy_ai",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "spherical_bessel_j0",
    "digamma",
    "psi",
    "gammaln",
    "erf",
    "erfc",
    "erfcx",
    "expit",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log_ndtr",
    "ndtr",
    "sinc",
    "entr",
    "exp2",
    "expm1",
    "log1p",
    "round",
    "erfinv",
    "logit",
    "ndtri",
]
NEEDS_POSITIVE = {
    "bessel_y0",
    "bessel_y1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "log1p",
}
NEEDS_UNIT = {"erfinv", "logit", "ndtri"}
POLYNOMIALS = [
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
]


def _input(name):
    return POSITIVE if name in NEEDS_POSITIVE else UNIT if name in NEEDS_UNIT else ANY


def _torch_close(mine, theirs, atol=1e-9):
    np.testing.assert_allclose(
        mine.detach().numpy(), theirs.detach().numpy(), atol=atol, rtol=1e-7, equal_nan=True
    )


def test_every_torch_special_name_exists():
    torch = torch_or_skip()
    public = {n for n in dir(torch.special) if not n.startswith("_")}
    public -= {"Tensor", "torch", "common_args", "multi_dim_common"}
    assert public <= set(S.__all__), sorted(public - set(S.__all__))
    assert all(callable(getattr(S, n)) for n in S.__all__)


@pytest.mark.parametrize("name", UNARY)
def test_unary_against_torch(name):
    torch = torch_or_skip()
    source = _input(name)
    atol = 1e-5 if name == "airy_ai" else 1e-9  # PyTorch's airy_ai is a float32-grade approximation
    _torch_close(
        getattr(S, name)(ember.tensor(source)), getattr(torch.special, name)(torch.tensor(source)), atol
    )


def test_against_scipy():
    x = ember.tensor(POSITIVE)
    np.testing.assert_allclose(S.gammaln(x).numpy(), scipy_special.gammaln(POSITIVE), rtol=1e-13)
    np.testing.assert_allclose(S.i1e(x).numpy(), scipy_special.i1e(POSITIVE), rtol=1e-13)
    np.testing.assert_allclose(S.zeta(x + 1.5, x).numpy(), scipy_special.zeta(POSITIVE + 1.5, POSITIVE))
    np.testing.assert_allclose(S.gammainc(x, 2.0).numpy(), scipy_special.gammainc(POSITIVE, 2.0))
    np.testing.assert_allclose(S.polygamma(2, x).numpy(), scipy_special.polygamma(2, POSITIVE))
    np.testing.assert_allclose(
        S.multigammaln(x + 2, 3).numpy(),
        scipy_special.multigammaln(POSITIVE[:, None] + 2, 3)[:, 0]
        if False
        else [scipy_special.multigammaln(v + 2, 3) for v in POSITIVE],
    )


def test_native_gamma_fallbacks_match_scipy():
    values = np.concatenate([ANY[ANY != np.round(ANY)], POSITIVE * 7, [0.5, 1e-3, 30.5]])
    np.testing.assert_allclose(
        sf._lgamma_native(np, values), scipy_special.gammaln(values), rtol=1e-12, atol=1e-13
    )
    np.testing.assert_allclose(
        sf._digamma_native(np, values), scipy_special.psi(values), rtol=1e-11, atol=1e-12
    )


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_against_torch(name):
    torch = torch_or_skip()
    degrees = np.array([0, 1, 3, 6, -1] * 5)
    for x in (ANY / 3, ANY):
        for n in (0, 1, 2, 5):
            _torch_close(
                getattr(S, name)(ember.tensor(x), n), getattr(torch.special, name)(torch.tensor(x), n)
            )
        _torch_close(
            getattr(S, name)(ember.tensor(x), ember.tensor(degrees)),
            getattr(torch.special, name)(torch.tensor(x), torch.tensor(degrees)),
        )


def test_binary_against_torch():
    torch = torch_or_skip()
    a, b = POSITIVE, POSITIVE[::-1].copy()
    t = torch.tensor
    for name in ("gammainc", "gammaincc", "zeta", "xlogy", "xlog1py"):
        _torch_close(
            getattr(S, name)(ember.tensor(a), ember.tensor(b)), getattr(torch.special, name)(t(a), t(b))
        )
    _torch_close(
        S.xlog1py(ember.tensor(np.array([0.0, 2.0])), 3.0),
        torch.special.xlog1py(t(np.array([0.0, 2.0])), 3.0),
    )
    _torch_close(S.logit(ember.tensor(UNIT), 0.2), torch.special.logit(t(UNIT), 0.2))
    _torch_close(S.polygamma(3, ember.tensor(a)), torch.special.polygamma(3, t(a)))
    _torch_close(S.multigammaln(ember.tensor(a + 2), 3), torch.special.multigammaln(t(a + 2), 3))
    _torch_close(S.softmax(ember.tensor(ANY), 0), torch.special.softmax(t(ANY), 0))
    _torch_close(S.log_softmax(ember.tensor(ANY), 0), torch.special.log_softmax(t(ANY), 0))
    _torch_close(S.logsumexp(ember.tensor(ANY), 0), torch.special.logsumexp(t(ANY), 0))


# name -> (function of float64 tensors, inputs)
GRADIENTS = {
    "gammaln": (S.gammaln, (POSITIVE,)),
    "digamma": (S.digamma, (POSITIVE,)),
    "polygamma": (lambda x: S.polygamma(2, x), (POSITIVE,)),
    "multigammaln": (lambda x: S.multigammaln(x, 3), (POSITIVE + 2,)),
    "gammainc": (lambda x: S.gammainc(ember.tensor(POSITIVE[:4]), x), (POSITIVE[4:8],)),
    "gammaincc": (lambda x: S.gammaincc(ember.tensor(POSITIVE[:4]), x), (POSITIVE[4:8],)),
    "zeta": (lambda q: S.zeta(ember.tensor(POSITIVE[:4] + 1.5), q), (POSITIVE[4:8],)),
    "erfcx": (S.erfcx, (ANY,)),
    "i0": (S.i0, (ANY,)),
    "i0e": (S.i0e, (ANY[ANY != 0],)),
    "i1": (S.i1, (ANY,)),
    "i1e": (S.i1e, (ANY[ANY != 0],)),
    "ndtr": (S.ndtr, (ANY,)),
    "ndtri": (S.ndtri, (UNIT,)),
    "log_ndtr": (S.log_ndtr, (ANY,)),
    "entr": (S.entr, (POSITIVE,)),
    "logit": (S.logit, (UNIT,)),
    "xlog1py": (S.xlog1py, (ANY, POSITIVE.repeat(3)[:25])),
    "expit": (S.expit, (ANY,)),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradcheck(name):
    fn, arrays = GRADIENTS[name]
    inputs = tuple(ember.tensor(a.copy(), requires_grad=True) for a in arrays)
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["gammaln", "digamma", "i0", "i1", "ndtri", "log_ndtr", "erfcx"])
def test_gradgradcheck(name):
    fn, arrays = GRADIENTS[name]
    inputs = tuple(ember.tensor(a[:4].copy(), requires_grad=True) for a in arrays)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_against_torch(name):
    torch = torch_or_skip()
    fn, arrays = GRADIENTS[name]
    mine = tuple(ember.tensor(a.copy(), requires_grad=True) for a in arrays)
    theirs = tuple(torch.tensor(a.copy(), requires_grad=True) for a in arrays)
    torch_fn = {
        "polygamma": lambda x: torch.special.polygamma(2, x),
        "multigammaln": lambda x: torch.special.multigammaln(x, 3),
        "gammainc": lambda x: torch.special.gammainc(torch.tensor(POSITIVE[:4]), x),
        "gammaincc": lambda x: torch.special.gammaincc(torch.tensor(POSITIVE[:4]), x),
        "zeta": lambda q: torch.special.zeta(torch.tensor(POSITIVE[:4] + 1.5), q),
    }.get(name, getattr(torch.special, name))
    fn(*mine).sum().backward()
    torch_fn(*theirs).sum().backward()
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_no_derivative_where_pytorch_has_none():
    x = ember.tensor(POSITIVE, requires_grad=True)
    for fn in (S.bessel_j0, S.modified_bessel_k1, lambda t: S.hermite_polynomial_h(t, 3)):
        with pytest.raises(RuntimeError, match="derivative.*not implemented"):
            fn(x).sum().backward()
    with pytest.raises(RuntimeError, match="not implemented"):
        S.gammainc(x, 2.0).sum().backward()


def test_top_level_and_tensor_twins():
    torch = torch_or_skip()
    x, t = ember.tensor(POSITIVE), torch.tensor(POSITIVE)
    _torch_close(ember.lgamma(x), torch.lgamma(t))
    _torch_close(x.digamma(), t.digamma())
    _torch_close(ember.polygamma(1, x), torch.polygamma(1, t))
    _torch_close(x.polygamma(2), t.polygamma(2))
    _torch_close(ember.mvlgamma(x + 2, 2), torch.mvlgamma(t + 2, 2))
    _torch_close(ember.i0(x), torch.i0(t))
    _torch_close(ember.igamma(x, x.flip(0)), torch.igamma(t, t.flip(0)))
    _torch_close(x.igammac(x.flip(0)), t.igammac(t.flip(0)))
    _torch_close(ember.logit(ember.tensor(UNIT), 0.3), torch.logit(torch.tensor(UNIT), 0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, args in [
            ("lgamma_", ()),
            ("digamma_", ()),
            ("polygamma_", (1,)),
            ("mvlgamma_", (1,)),
            ("i0_", ()),
            ("igamma_", (x,)),
            ("igammac_", (x,)),
            ("logit_", ()),
        ]:
            mine, theirs = ember.tensor(UNIT), torch.tensor(UNIT)
            targs = tuple(torch.tensor(a.numpy()) if hasattr(a, "numpy") else a for a in args)
            assert getattr(mine, name)(*args) is mine
            getattr(theirs, name)(*targs)
            _torch_close(mine, theirs)
    assert ember.lgamma(ember.tensor([1, 2, 3])).dtype == ember.float32


def test_out_and_errors():
    out = ember.empty(12, dtype=ember.float64)
    assert S.gammaln(ember.tensor(POSITIVE), out=out) is out
    np.testing.assert_allclose(out.numpy(), scipy_special.gammaln(POSITIVE))
    with pytest.raises(RuntimeError, match="greater than"):
        S.multigammaln(ember.tensor([0.2]), 3)
    with pytest.raises(RuntimeError, match="negative n"):
        S.polygamma(-1, ember.tensor([1.0]))


def test_missing_scipy_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("no scipy")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_scipy)
    with pytest.raises(ImportError, match=r'pip install "ember\[special\]"'):
        S.i1e(ember.tensor([1.0]))
    np.testing.assert_allclose(
        S.gammaln(ember.tensor(POSITIVE)).numpy(), scipy_special.gammaln(POSITIVE), rtol=1e-12
    )


@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv"])
def test_error_functions_keep_float16(name):
    x = ember.tensor([0.5, -0.25, 0.75], dtype=ember.float16)
    out = getattr(x, name)()
    assert out.dtype == ember.float16
    expected = getattr(scipy_special, name)(np.array([0.5, -0.25, 0.75]))
    np.testing.assert_allclose(out.float().numpy(), expected, rtol=2e-3)
