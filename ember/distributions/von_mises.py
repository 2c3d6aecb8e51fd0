"""VonMises: the circular normal distribution on [-pi, pi)."""

from __future__ import annotations

import math
from typing import ClassVar

import ember
from ember.distributions import constraints
from ember.distributions._special import bessel_ratio, log_i0
from ember.distributions.distribution import Distribution
from ember.distributions.utils import as_size, broadcast_all, host_sample

__all__ = ["VonMises"]


class VonMises(Distribution):
    """Von Mises distribution with mean direction ``loc`` and ``concentration``."""

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = as_size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - log_i0(self.concentration)

    def sample(self, sample_shape=()):
        """Draws by NumPy's von Mises sampler (Best and Fisher), returned in [-pi, pi)."""
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return host_sample(
                lambda gen, loc, kappa: gen.vonmises(loc, kappa),
                self.loc.expand(shape),
                self.concentration.expand(shape),
            )

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 1 - bessel_ratio(self.concentration)
