"""Argument and sample validation (PyTorch's ValueError messages), constraints, KL registry."""

from __future__ import annotations

import pytest

import ember
import ember.distributions as D
from ember.distributions import constraints


def test_invalid_parameter_names_the_constraint():
    with pytest.raises(
        ValueError,
        match=r"Expected parameter scale \(Tensor of shape \(2,\)\) "
        r"of distribution Normal.*GreaterThan\(lower_bound=0.0\)",
    ):
        D.Normal(ember.zeros(2), ember.tensor([1.0, -1.0]))


def test_invalid_sample_is_rejected_and_validation_can_be_turned_off():
    d = D.Exponential(ember.tensor([1.0]))
    with pytest.raises(ValueError, match="to be within the support"):
        d.log_prob(ember.tensor([-1.0]))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        d.log_prob(1.0)
    with pytest.raises(ValueError, match="must match event_shape"):
        D.Dirichlet(ember.ones(3)).log_prob(ember.ones(2) / 2)
    quiet = D.Normal(ember.zeros(1), ember.tensor([-1.0]), validate_args=False)
    assert quiet.scale.item() == -1.0


def test_set_default_validate_args():
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(ember.zeros(1), ember.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(ember.zeros(1), ember.tensor([-1.0]))


def test_probs_xor_logits():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        D.Categorical()
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        D.Bernoulli(probs=ember.tensor(0.5), logits=ember.tensor(0.0))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
        D.MultivariateNormal(ember.zeros(2))


def test_lazy_probs_logits_and_repr():
    d = D.Categorical(logits=ember.tensor([0.0, 0.0]))
    assert "probs" not in d.__dict__
    assert d.probs.tolist() == [0.5, 0.5]
    assert repr(D.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"


def test_constraints_check():
    assert constraints.simplex.check(ember.tensor([0.2, 0.8])).item()
    assert not constraints.positive.check(ember.tensor(0.0)).item()
    assert constraints.interval(0, 1).check(ember.tensor(1.0)).item()
    assert not constraints.half_open_interval(0, 1).check(ember.tensor(1.0)).item()
    assert constraints.lower_cholesky.check(ember.eye(2)).item()
    assert constraints.positive_definite.check(ember.eye(2)).item()
    assert constraints.real_vector.event_dim == 1
    assert constraints.integer_interval(0, 3).check(ember.tensor(2.0)).item()


def test_support_and_flags():
    assert D.Normal(0.0, 1.0).support is constraints.real
    assert D.Normal.has_rsample and not D.Categorical.has_rsample
    assert D.Independent(D.Normal(ember.zeros(2), ember.ones(2)), 1).support.event_dim == 1
    assert D.Bernoulli(0.3).enumerate_support().tolist() == [0.0, 1.0]


def test_register_kl_and_missing_pair():
    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return ember.tensor(42.0)

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 0.0
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Gamma(1.0, 1.0))


def test_tanh_transform_cache_recovers_the_pre_image():
    base = D.Normal(ember.zeros(3), ember.ones(3) * 10)
    t = D.transforms.TanhTransform(cache_size=1)
    d = D.TransformedDistribution(base, [t])
    x = d.rsample()
    assert bool(ember.isfinite(d.log_prob(x)).all())
    assert t.inv(x) is t._cached_x_y[0]
