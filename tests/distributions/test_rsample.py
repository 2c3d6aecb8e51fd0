"""Reparameterised gradients: exact against PyTorch with the same noise for the
location-scale families, statistical (and against the implicit-function formula) for
Gamma, Beta, Dirichlet."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as D
from ember.autograd import gradcheck
from ember.distributions import _linalg, _special
from tests.helpers import torch_or_skip


def _e(x, grad=True):
    return ember.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def _grads(loss, *ts):
    loss.backward()
    return [t.grad.numpy() for t in ts]


# (family, params, noise from the sample, the same map written in torch)
LOC_SCALE = [
    ("Normal", lambda x, p: (x - p[0]) / p[1], lambda t, eps, p: p[0] + eps * p[1]),
    ("Laplace", lambda x, p: (x - p[0]) / p[1], lambda t, eps, p: p[0] + eps * p[1]),
    ("Cauchy", lambda x, p: (x - p[0]) / p[1], lambda t, eps, p: p[0] + eps * p[1]),
    ("LogNormal", lambda x, p: (np.log(x) - p[0]) / p[1], lambda t, eps, p: (p[0] + eps * p[1]).exp()),
]


@pytest.mark.parametrize("name, noise, torch_map", LOC_SCALE, ids=[c[0] for c in LOC_SCALE])
def test_location_scale_rsample_gradients_match_torch(name, noise, torch_map):
    torch = torch_or_skip()
    ember.manual_seed(0)
    loc, scale = [0.3, -1.0, 2.0], [0.5, 1.5, 2.0]
    e_loc, e_scale = _e(loc), _e(scale)
    x = getattr(D, name)(e_loc, e_scale).rsample((7,))
    eps = noise(x.detach().numpy(), (np.array(loc), np.array(scale)))
    weights = np.linspace(-1, 1, x.numel()).reshape(x.shape)
    e_grads = _grads((x * _e(weights, False)).sum(), e_loc, e_scale)
    t_loc = torch.tensor(loc, dtype=torch.float64, requires_grad=True)
    t_scale = torch.tensor(scale, dtype=torch.float64, requires_grad=True)
    y = torch_map(torch, torch.tensor(eps), (t_loc, t_scale))
    (y * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(e_grads[0], t_loc.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(e_grads[1], t_scale.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_exponential_and_uniform_rsample_gradients():
    ember.manual_seed(0)
    rate = _e([0.5, 2.0])
    x = D.Exponential(rate).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), (-x / rate).sum(0).detach().numpy())
    low, high = _e([0.0, 1.0]), _e([1.0, 4.0])
    u = D.Uniform(low, high).rsample((5,))
    u.sum().backward()
    frac = ((u - low) / (high - low)).detach().numpy()
    np.testing.assert_allclose(high.grad.numpy(), frac.sum(0))
    np.testing.assert_allclose(low.grad.numpy(), (1 - frac).sum(0))


def test_mvn_rsample_gradients_match_torch_with_same_noise():
    torch = torch_or_skip()
    ember.manual_seed(0)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    cov, loc = a @ a.T + 3 * np.eye(3), rng.normal(size=3)
    e_cov, e_loc = _e(cov), _e(loc)
    x = D.MultivariateNormal(e_loc, covariance_matrix=e_cov).rsample((6,))
    chol = np.linalg.cholesky(cov)
    eps = np.linalg.solve(chol, (x.detach().numpy() - loc).T).T
    weights = rng.normal(size=x.shape)
    e_grads = _grads((x * _e(weights, False)).sum(), e_loc, e_cov)
    t_cov = torch.tensor(cov, requires_grad=True)
    t_loc = torch.tensor(loc, requires_grad=True)
    t_l = torch.linalg.cholesky(t_cov)
    y = t_loc + (t_l @ torch.tensor(eps).unsqueeze(-1)).squeeze(-1)
    (y * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(e_grads[0], t_loc.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(e_grads[1], t_cov.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_standard_gamma_gradient_is_the_implicit_derivative():
    """dx/dalpha at fixed u = P(alpha, x), by finite differences of SciPy's inverse CDF."""
    special = pytest.importorskip("scipy.special")
    ember.manual_seed(0)
    alpha = _e([0.05, 0.3, 1.0, 2.5, 10.0, 150.0])
    x = _special.standard_gamma(alpha.expand(4, 6))
    x.sum().backward()
    xs, a = x.detach().numpy(), alpha.detach().numpy()
    u = special.gammainc(a, xs)
    h = 1e-6 * a
    fd = (special.gammaincinv(a + h, u) - special.gammaincinv(a - h, u)) / (2 * h)
    np.testing.assert_allclose(alpha.grad.numpy(), fd.sum(0), rtol=1e-4)


@pytest.mark.parametrize("family", ["Gamma", "Beta", "Dirichlet"])
def test_reparameterised_mean_gradient_statistically(family):
    """d/dparams of the Monte-Carlo mean matches the derivative of the closed-form mean."""
    ember.manual_seed(5)
    n = 20000
    if family == "Gamma":
        a, b = _e([0.7, 3.0]), _e([2.0, 0.5])
        dist, params = D.Gamma(a, b), (a, b)
    elif family == "Beta":
        a, b = _e([0.7, 3.0]), _e([2.0, 0.5])
        dist, params = D.Beta(a, b), (a, b)
    else:
        a = _e([[0.7, 3.0, 1.5]])
        dist, params = D.Dirichlet(a), (a,)
    weights = _e(
        np.linspace(0.5, 1.5, dist.event_shape.numel() if dist.event_shape else 1)
        * np.ones(dist.batch_shape + dist.event_shape),
        False,
    )
    mc = (dist.rsample((n,)).mean(0) * weights).sum()
    mc_grads = [g.copy() for g in _grads(mc, *params)]
    for p in params:
        p.grad = None
    (dist.mean * weights).sum().backward()
    for got, p in zip(mc_grads, params):
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=0.08, atol=0.01)


def test_gamma_rsample_gradient_statistics_match_torch():
    torch = torch_or_skip()
    n = 20000
    alpha = [0.4, 2.0, 8.0]
    ember.manual_seed(0)
    e_a = _e(alpha)
    x = D.Gamma(e_a, _e([1.0, 1.0, 1.0], False)).rsample((n,))
    (x**2).mean(0).sum().backward()
    torch.manual_seed(0)
    t_a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    tx = torch.distributions.Gamma(t_a, torch.ones(3, dtype=torch.float64)).rsample((n,))
    (tx**2).mean(0).sum().backward()
    exact = 2 * np.array(alpha) + 1  # d/da of E[x^2] = a(a+1)
    np.testing.assert_allclose(e_a.grad.numpy(), exact, rtol=0.06)
    np.testing.assert_allclose(t_a.grad.numpy(), exact, rtol=0.06)


def test_special_and_linalg_gradients():
    x = (ember.rand(5, dtype=ember.float64) * 3 + 0.2).requires_grad_()
    assert gradcheck(_special.lgamma, (x,))
    assert gradcheck(_special.digamma, (x,))
    y = (ember.rand(5, dtype=ember.float64) * 3 + 0.2).requires_grad_()
    assert gradcheck(lambda v: _special.gammainc(ember.tensor(1.7, dtype=ember.float64), v), (y,))
    a = ember.randn(4, 4, dtype=ember.float64)
    spd = (a @ a.T + 4 * ember.eye(4, dtype=ember.float64)).requires_grad_()
    assert gradcheck(lambda m: _linalg.cholesky((m + m.T) / 2), (spd,))
    low = (
        ember.randn(2, 4, 4, dtype=ember.float64).tril() + 3 * ember.eye(4, dtype=ember.float64)
    ).requires_grad_()
    rhs = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda m, b: _linalg.solve_triangular(m, b, upper=False), (low, rhs))
    assert gradcheck(lambda m, b: _linalg.solve_triangular(m, b, upper=True), (low, rhs))


def test_log_prob_gradcheck():
    loc = ember.randn(3, dtype=ember.float64, requires_grad=True)
    scale = (ember.rand(3, dtype=ember.float64) + 0.5).requires_grad_()
    value = ember.randn(3, dtype=ember.float64)
    assert gradcheck(lambda m, s: D.StudentT(3.0, m, s).log_prob(value), (loc, scale))
    conc = (ember.rand(3, dtype=ember.float64) + 0.5).requires_grad_()
    point = ember.tensor([0.2, 0.3, 0.5], dtype=ember.float64)
    assert gradcheck(lambda c: D.Dirichlet(c).log_prob(point), (conc,))


def test_bessel_log_i0_gradients():
    x = (ember.rand(5, dtype=ember.float64) * 4 + 0.1).requires_grad_()
    assert gradcheck(_special.log_i0, (x,))
    assert gradcheck(_special.bessel_ratio, (x,))


def test_wishart_rsample_gradient_statistically():
    """d/d(cov, df) of the Monte-Carlo mean matches the derivative of ``df * cov``."""
    ember.manual_seed(3)
    cov = _e([[2.0, 0.5], [0.5, 1.0]])
    df = _e(4.5)
    weights = _e([[1.0, 0.3], [0.3, 2.0]], False)
    mc = (D.Wishart(df, covariance_matrix=cov).rsample((20000,)).mean(0) * weights).sum()
    mc_grads = [g.copy() for g in _grads(mc, cov, df)]
    cov.grad = df.grad = None
    (D.Wishart(df, covariance_matrix=cov).mean * weights).sum().backward()
    np.testing.assert_allclose(mc_grads[0], cov.grad.numpy(), rtol=0.05, atol=0.05)
    np.testing.assert_allclose(mc_grads[1], df.grad.numpy(), rtol=0.05)


def test_lkj_cholesky_marginal_correlations():
    """Off-diagonal correlations of LKJ(eta) in d dims have E[r^2] = 1 / (2 eta + d - 1)."""
    ember.manual_seed(4)
    for eta, dim in [(0.5, 3), (2.0, 4)]:
        low = D.LKJCholesky(dim, ember.tensor(eta, dtype=ember.float64)).sample((20000,))
        corr = (low @ low.transpose(-2, -1)).numpy()
        np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, atol=1e-12)
        r2 = corr[:, np.triu_indices(dim, 1)[0], np.triu_indices(dim, 1)[1]] ** 2
        np.testing.assert_allclose(r2.mean(0), 1 / (2 * eta + dim - 1), rtol=0.05)
