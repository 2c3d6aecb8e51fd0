"""log_prob, entropy, mean, variance and cdf against SciPy's distributions (runs without
PyTorch): float64 references for the families SciPy has."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as D

stats = pytest.importorskip("scipy.stats")
rng = np.random.default_rng(7)
P1, P2 = rng.uniform(0.5, 3.0, 4), rng.uniform(0.5, 3.0, 4)
LOC = rng.normal(size=4)
PROB = rng.uniform(0.1, 0.9, 4)
X_REAL = rng.normal(size=4)
X_POS = rng.uniform(0.2, 3.0, 4)
X_UNIT = rng.uniform(0.1, 0.9, 4)
X_COUNT = rng.integers(0, 6, 4).astype(float)

CASES = [
    ("Normal", lambda: D.Normal(_t(LOC), _t(P1)), stats.norm(LOC, P1), X_REAL),
    ("Laplace", lambda: D.Laplace(_t(LOC), _t(P1)), stats.laplace(LOC, P1), X_REAL),
    ("Cauchy", lambda: D.Cauchy(_t(LOC), _t(P1)), stats.cauchy(LOC, P1), X_REAL),
    ("Uniform", lambda: D.Uniform(_t(-P1), _t(P2)), stats.uniform(-P1, P1 + P2), X_UNIT),
    ("Exponential", lambda: D.Exponential(_t(P1)), stats.expon(scale=1 / P1), X_POS),
    ("Gamma", lambda: D.Gamma(_t(P1), _t(P2)), stats.gamma(P1, scale=1 / P2), X_POS),
    ("Chi2", lambda: D.Chi2(_t(P1 + 2)), stats.chi2(P1 + 2), X_POS),
    ("Beta", lambda: D.Beta(_t(P1), _t(P2)), stats.beta(P1, P2), X_UNIT),
    ("StudentT", lambda: D.StudentT(_t(P1 + 2), _t(LOC), _t(P2)), stats.t(P1 + 2, LOC, P2), X_REAL),
    ("LogNormal", lambda: D.LogNormal(_t(LOC), _t(P1)), stats.lognorm(s=P1, scale=np.exp(LOC)), X_POS),
    ("HalfNormal", lambda: D.HalfNormal(_t(P1)), stats.halfnorm(scale=P1), X_POS),
    ("Gumbel", lambda: D.Gumbel(_t(LOC), _t(P1)), stats.gumbel_r(LOC, P1), X_REAL),
    (
        "GeneralizedPareto",
        lambda: D.GeneralizedPareto(_t(LOC), _t(P1), _t(PROB - 0.5)),
        stats.genpareto(PROB - 0.5, LOC, P1),
        LOC + 0.3 * P1,
    ),
    ("Bernoulli", lambda: D.Bernoulli(_t(PROB)), stats.bernoulli(PROB), X_COUNT % 2),
    ("Binomial", lambda: D.Binomial(6, _t(PROB)), stats.binom(6, PROB), X_COUNT),
    ("Poisson", lambda: D.Poisson(_t(P1)), stats.poisson(P1), X_COUNT),
    ("Geometric", lambda: D.Geometric(_t(PROB)), stats.geom(PROB, loc=-1), X_COUNT),
    ("NegativeBinomial", lambda: D.NegativeBinomial(_t(P1), _t(PROB)), stats.nbinom(P1, 1 - PROB), X_COUNT),
]
_DISCRETE = {"Bernoulli", "Binomial", "Poisson", "Geometric", "NegativeBinomial"}
_NO_MOMENTS = {"Cauchy"}
_NO_ENTROPY = {"Poisson", "NegativeBinomial", "Geometric"}  # SciPy's are numerical sums
_CDF = {
    "GeneralizedPareto",
    "Normal",
    "Laplace",
    "Cauchy",
    "Uniform",
    "Exponential",
    "Gamma",
    "LogNormal",
    "HalfNormal",
    "Gumbel",
}


def _t(x):
    return ember.tensor(x, dtype=ember.float64)


@pytest.mark.parametrize("name, build, ref, value", CASES, ids=[c[0] for c in CASES])
def test_matches_scipy(name, build, ref, value):
    d = build()
    log_prob = d.log_prob(_t(value)).numpy()
    expected = ref.logpmf(value) if name in _DISCRETE else ref.logpdf(value)
    np.testing.assert_allclose(log_prob, expected, rtol=1e-9, atol=1e-12)
    if name not in _NO_ENTROPY:
        np.testing.assert_allclose(d.entropy().numpy(), ref.entropy(), rtol=1e-7)
    if name not in _NO_MOMENTS:
        np.testing.assert_allclose(d.mean.numpy(), ref.mean(), rtol=1e-9)
        np.testing.assert_allclose(d.variance.numpy(), ref.var(), rtol=1e-9)
    if name in _CDF:
        np.testing.assert_allclose(d.cdf(_t(value)).numpy(), ref.cdf(value), rtol=1e-9)


def test_multivariate_families_match_scipy():
    a = rng.normal(size=(3, 3))
    cov, loc, x = a @ a.T + np.eye(3), rng.normal(size=3), rng.normal(size=3)
    mvn = D.MultivariateNormal(_t(loc), covariance_matrix=_t(cov))
    ref = stats.multivariate_normal(loc, cov)
    np.testing.assert_allclose(mvn.log_prob(_t(x)).item(), ref.logpdf(x), rtol=1e-10)
    np.testing.assert_allclose(mvn.entropy().item(), ref.entropy(), rtol=1e-10)
    alpha, point = np.array([0.7, 2.0, 3.5]), np.array([0.2, 0.3, 0.5])
    dirichlet = D.Dirichlet(_t(alpha))
    np.testing.assert_allclose(
        dirichlet.log_prob(_t(point)).item(), stats.dirichlet(alpha).logpdf(point), rtol=1e-10
    )
    np.testing.assert_allclose(dirichlet.entropy().item(), stats.dirichlet(alpha).entropy(), rtol=1e-10)
    probs, counts = np.array([0.2, 0.3, 0.5]), np.array([1.0, 2.0, 3.0])
    multinomial = D.Multinomial(6, _t(probs))
    np.testing.assert_allclose(
        multinomial.log_prob(_t(counts)).item(), stats.multinomial(6, probs).logpmf(counts), rtol=1e-10
    )
    np.testing.assert_allclose(multinomial.entropy().item(), stats.multinomial(6, probs).entropy(), rtol=1e-9)


def test_kumaraswamy_mode_maximises_the_density():
    d = D.Kumaraswamy(_t([2.0, 3.0]), _t([4.0, 1.5]))
    grid = np.linspace(0.001, 0.999, 9999)
    density = d.log_prob(_t(np.stack([grid, grid], 1))).numpy()
    np.testing.assert_allclose(d.mode.numpy(), grid[density.argmax(0)], atol=2e-4)


def test_kl_normal_closed_form_against_monte_carlo():
    ember.manual_seed(0)
    p, q = D.Normal(_t(0.3), _t(1.2)), D.Normal(_t(-0.5), _t(0.7))
    x = p.sample((200000,))
    monte_carlo = (p.log_prob(x) - q.log_prob(x)).mean().item()
    assert abs(D.kl_divergence(p, q).item() - monte_carlo) < 0.02
