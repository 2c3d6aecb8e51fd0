"""log_prob, entropy, moments, cdf/icdf and KL of every case, against PyTorch in float64."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as ED
from tests.distributions.cases import CASES
from tests.helpers import torch_or_skip

IDS = [c.name for c in CASES]
# checked against SciPy instead (tests/distributions/test_against_scipy.py)
TORCH_FLOAT64_BROKEN = {
    "GeneralizedPareto": "PyTorch's log_prob/cdf compare a float64 concentration with a float32 "
    "zero and raise"
}


def _both(case, requires_grad=False):
    torch = torch_or_skip()
    import torch.distributions as TD

    ep = {
        k: ember.tensor(v, dtype=ember.float64, requires_grad=requires_grad) for k, v in case.params.items()
    }
    tp = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=requires_grad) for k, v in case.params.items()
    }
    return case.build(ED, ep), case.build(TD, tp), ep, tp, torch


def _close(e, t, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_prob(case):
    if case.name in TORCH_FLOAT64_BROKEN:
        pytest.skip(TORCH_FLOAT64_BROKEN[case.name])
    e, t, ep, tp, torch = _both(case, requires_grad=True)
    e_lp = e.log_prob(ember.tensor(case.value, dtype=ember.float64))
    t_lp = t.log_prob(torch.tensor(case.value, dtype=torch.float64))
    _close(e_lp, t_lp)
    e_lp.sum().backward()
    t_lp.sum().backward()
    for name in case.params:
        if tp[name].grad is not None:
            _close(ep[name].grad, tp[name].grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", [c for c in CASES if c.entropy], ids=lambda c: c.name)
def test_entropy(case):
    e, t, ep, tp, _ = _both(case, requires_grad=True)
    _close(e.entropy(), t.entropy())
    e.entropy().sum().backward()
    t.entropy().sum().backward()
    for name in case.params:
        if tp[name].grad is not None:
            _close(ep[name].grad, tp[name].grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shapes_and_moments(case):
    e, t, *_ = _both(case)
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    assert e.has_rsample == t.has_rsample
    rtol = 1e-6 if case.name == "VonMises" else 1e-7  # PyTorch approximates log I0, I1
    for prop in ("mean", "variance", "mode"):
        if getattr(case, prop):
            np.testing.assert_allclose(getattr(e, prop).numpy(), getattr(t, prop).detach().numpy(), rtol=rtol)
    if case.variance:
        np.testing.assert_allclose(e.stddev.numpy(), t.stddev.detach().numpy(), rtol=rtol)


@pytest.mark.parametrize("case", [c for c in CASES if c.cdf], ids=lambda c: c.name)
def test_cdf_icdf(case):
    if case.name in TORCH_FLOAT64_BROKEN:
        pytest.skip(TORCH_FLOAT64_BROKEN[case.name])
    e, t, _, _, torch = _both(case)
    value = case.value
    _close(e.cdf(ember.tensor(value)), t.cdf(torch.tensor(value)))
    if case.icdf:
        q = np.linspace(0.1, 0.9, len(value))
        _close(e.icdf(ember.tensor(q)), t.icdf(torch.tensor(q)), rtol=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if c.kl], ids=lambda c: c.name)
def test_kl_divergence(case):
    e1, t1, *_ = _both(case)
    shifted = type(case)(
        case.name, {k: _perturb(k, v) for k, v in case.params.items()}, case.build, case.value
    )
    e2, t2, *_ = _both(shifted)
    _close(ED.kl_divergence(e1, e2), __import__("torch").distributions.kl_divergence(t1, t2), rtol=1e-6)


def _perturb(name, value):
    """Different parameters in the same constraint set (positive, simplex, SPD, ...)."""
    if name in ("cov", "prec"):
        return value + 0.5 * np.eye(value.shape[-1])
    if name == "tril":
        return value * 1.3
    if name == "probs":
        p = value**1.5
        return p / p.sum(-1, keepdims=True) if value.ndim > 1 else p
    if name in ("loc", "logits", "low"):
        return value + 0.3
    if name == "high":
        return value + 1.0
    return value * 1.4


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_expand(case):
    e, *_ = _both(case)
    big = e.expand((2,) + tuple(e.batch_shape))
    assert tuple(big.batch_shape) == (2,) + tuple(e.batch_shape)
    value = ember.tensor(case.value, dtype=ember.float64)
    lp = big.log_prob(value)
    np.testing.assert_allclose(lp.detach().numpy()[1], e.log_prob(value).detach().numpy())
    assert tuple(big.sample().shape) == (2,) + tuple(e.batch_shape) + tuple(e.event_shape)


def test_matrices_of_multivariate_normals():
    for case in [c for c in CASES if c.name in ("LowRankMVN", "MVN-cov", "MVN-prec", "MVN-tril")]:
        e, t, *_ = _both(case)
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            _close(getattr(e, name), getattr(t, name), rtol=1e-8)


def _torch_kl(torch, p, q):
    return torch.distributions.kl_divergence(p, q)


@pytest.mark.parametrize(
    "pair",
    [
        "Geometric",
        "HalfNormal",
        "Gumbel",
        "Exponential-Gamma",
        "Gamma-Exponential",
        "Normal-Laplace",
        "Beta-Uniform",
    ],
)
def test_more_kl_pairs(pair):
    torch = torch_or_skip()
    rng = np.random.default_rng(11)
    a, b = rng.uniform(0.5, 2.0, 4), rng.uniform(0.5, 2.0, 4)
    loc = rng.normal(size=4)
    makers = {
        "Geometric": lambda D, T: (D.Geometric(T(a / 3)), D.Geometric(T(b / 3))),
        "HalfNormal": lambda D, T: (D.HalfNormal(T(a)), D.HalfNormal(T(b))),
        "Gumbel": lambda D, T: (D.Gumbel(T(loc), T(a)), D.Gumbel(T(-loc), T(b))),
        "Exponential-Gamma": lambda D, T: (D.Exponential(T(a)), D.Gamma(T(b), T(a + 1))),
        "Gamma-Exponential": lambda D, T: (D.Gamma(T(b), T(a + 1)), D.Exponential(T(a))),
        "Normal-Laplace": lambda D, T: (D.Normal(T(loc), T(a)), D.Laplace(T(-loc), T(b))),
        "Beta-Uniform": lambda D, T: (D.Beta(T(a), T(b)), D.Uniform(T(a * 0 - 0.1), T(a * 0 + 1))),
    }
    e_p, e_q = makers[pair](ED, lambda x: ember.tensor(x))
    t_p, t_q = makers[pair](torch.distributions, lambda x: torch.tensor(x))
    _close(ED.kl_divergence(e_p, e_q), _torch_kl(torch, t_p, t_q), rtol=1e-8)
