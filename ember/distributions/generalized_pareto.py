"""Generalized Pareto distribution (peaks over a threshold)."""

from __future__ import annotations

import math
from typing import ClassVar

import ember
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import as_size, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """Generalized Pareto with ``loc``, ``scale`` and shape ``concentration`` (xi):
    ``p(x) = (1 + xi z)^(-1/xi - 1) / scale`` with ``z = (x - loc) / scale`` (``exp(-z)`` at
    xi = 0)."""

    arg_constraints: ClassVar[dict] = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = as_size(batch_shape)
        for name in ("loc", "scale", "concentration"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _xi(self):
        """Whether xi is 0, and xi with the zeros replaced by 1 (so formulas stay finite)."""
        xi = self.concentration
        at_zero = xi.abs() < 1e-8
        return at_zero, ember.where(at_zero, ember.ones_like(xi), xi)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = ember.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        at_zero, xi = self._xi()
        power = 1 / xi + 1
        general = ember.where(power == 0, power, power * (xi * z).log1p())
        return -self.scale.log() - ember.where(at_zero, z, general)

    def log_survival_function(self, value):
        z = (value - self.loc) / self.scale
        at_zero, xi = self._xi()
        return ember.where(at_zero, -z, -(xi * z).log1p() / xi)

    def log_cdf(self, value):
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.log_cdf(value).exp()

    def icdf(self, value):
        at_zero, xi = self._xi()
        log_tail = (-value).log1p()
        general = self.loc + self.scale / xi * (-xi * log_tail).expm1()
        return ember.where(at_zero, self.loc - self.scale * log_tail, general)

    @property
    def mean(self):
        xi = self.concentration
        valid = xi < 1
        safe = ember.where(valid, xi, ember.full_like(xi, 0.5))
        return ember.where(valid, self.loc + self.scale / (1 - safe), ember.full_like(xi, math.nan))

    @property
    def variance(self):
        xi = self.concentration
        valid = xi < 0.5
        safe = ember.where(valid, xi, ember.full_like(xi, 0.25))
        result = self.scale.pow(2) / ((1 - safe).pow(2) * (1 - 2 * safe))
        return ember.where(valid, result, ember.full_like(xi, math.nan))

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(self._batch_shape)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        xi = self.concentration
        _, safe = self._xi()
        upper = ember.where(xi < 0, self.loc - self.scale / safe, ember.full_like(xi, math.inf))
        return constraints.interval(self.loc, upper)
