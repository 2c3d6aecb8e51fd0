"""Sample shapes, seeding and moments (fixed seeds, statistical tolerances)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as D
from tests.distributions.cases import CASES

N = 20000


def _build(case):
    params = {k: ember.tensor(v, dtype=ember.float64) for k, v in case.params.items()}
    return case.build(D, params)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sample_shape_and_support(case):
    ember.manual_seed(0)
    d = _build(case)
    x = d.sample((5, 2))
    assert tuple(x.shape) == (5, 2) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert not x.requires_grad
    if not isinstance(d.support, type(D.constraints.dependent)):
        assert bool(d.support.check(x).all())
    assert bool(ember.isfinite(d.log_prob(x)).all())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_seeded_samples_repeat(case):
    d = _build(case)
    ember.manual_seed(123)
    a = d.sample((3,))
    ember.manual_seed(123)
    b = d.sample((3,))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


MOMENT_CASES = [c for c in CASES if c.mean and c.variance]


@pytest.mark.parametrize("case", MOMENT_CASES, ids=[c.name for c in MOMENT_CASES])
def test_sample_moments(case):
    ember.manual_seed(1)
    d = _build(case)
    x = d.sample((N,)).numpy()
    mean, var = d.mean.numpy(), d.variance.numpy()
    if case.name == "LogNormal":  # heavy tails: check the moments of log(x) instead
        x, mean, var = np.log(x), d.loc.numpy(), d.scale.numpy() ** 2
    if case.name == "VonMises":  # circular statistics: mean direction and 1 - |E exp(ix)|
        resultant = np.exp(1j * x).mean(0)
        np.testing.assert_allclose(np.angle(resultant), mean, atol=0.05)
        np.testing.assert_allclose(1 - np.abs(resultant), var, rtol=0.05, atol=0.005)
        return
    if case.name == "Pareto":  # log(x / scale) is Exponential(alpha)
        x, mean, var = np.log(x / d.scale.numpy()), 1 / d.alpha.numpy(), d.alpha.numpy() ** -2
    # the standard error of the mean is sqrt(var / N); of the variance about var * sqrt(2 / N)
    # for light tails: allow 5 standard errors (and more for the variance of skewed families)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * np.sqrt(var / N) + 1e-12)
    np.testing.assert_allclose(x.var(0), var, rtol=0.15, atol=1e-9)


def test_sample_moments_mvn_covariance():
    ember.manual_seed(2)
    cov = ember.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=ember.float64)
    d = D.MultivariateNormal(ember.tensor([1.0, -1.0], dtype=ember.float64), cov)
    x = d.sample((N,)).numpy()
    np.testing.assert_allclose(np.cov(x.T), cov.numpy(), atol=0.06)
    np.testing.assert_allclose(x.mean(0), [1.0, -1.0], atol=0.05)


def test_rsample_float32_dtype_and_device():
    d = D.Normal(ember.zeros(3), ember.ones(3))
    assert d.rsample().dtype == ember.float32
    assert D.Gamma(ember.ones(3), ember.ones(3)).rsample().dtype == ember.float32
    assert D.Categorical(logits=ember.zeros(3)).sample().dtype == ember.int64


def test_categorical_frequencies():
    ember.manual_seed(3)
    probs = ember.tensor([0.1, 0.2, 0.7])
    x = D.Categorical(probs).sample((N,)).numpy()
    np.testing.assert_allclose(np.bincount(x, minlength=3) / N, probs.numpy(), atol=0.015)


def test_relaxed_one_hot_sharpens_with_low_temperature():
    ember.manual_seed(4)
    d = D.RelaxedOneHotCategorical(ember.tensor(0.05), logits=ember.tensor([0.0, 2.0, 0.0]))
    x = d.sample((2000,)).numpy()
    assert (x.max(-1) > 0.9).mean() > 0.9
    assert abs((x.argmax(-1) == 1).mean() - np.exp(2) / (np.exp(2) + 2)) < 0.05
