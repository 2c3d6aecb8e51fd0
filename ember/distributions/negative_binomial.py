"""NegativeBinomial distribution."""

from __future__ import annotations

from typing import ClassVar

import ember
from ember.distributions import constraints
from ember.distributions._special import lgamma
from ember.distributions.distribution import Distribution
from ember.distributions.gamma import Gamma
from ember.distributions.geometric import _ProbsOrLogits
from ember.distributions.utils import as_size, broadcast_all, host_sample, softplus

__all__ = ["NegativeBinomial"]


class NegativeBinomial(_ProbsOrLogits):
    """Failures before ``total_count`` successes, each trial failing with ``probs``."""

    arg_constraints: ClassVar[dict] = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        self._set_probs_or_logits(probs, logits)
        self.total_count, param = broadcast_all(total_count, self._param)
        self.total_count = self.total_count.type_as(param)
        if probs is not None:
            self.probs = self._param = param
        else:
            self.logits = self._param = param
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = as_size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False).sample(sample_shape)
            return host_sample(lambda gen, lam: gen.poisson(lam), rate.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized = -self.total_count * softplus(self.logits) - value * softplus(-self.logits)
        log_normalization = -lgamma(self.total_count + value) + lgamma(1.0 + value) + lgamma(self.total_count)
        log_normalization = ember.where(
            self.total_count + value == 0, ember.zeros_like(log_normalization), log_normalization
        )
        return log_unnormalized - log_normalization
