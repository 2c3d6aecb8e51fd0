"""ExponentialFamily: the base of distributions ``h(x) exp(<t(x), theta> - F(theta))``."""

from __future__ import annotations

import ember
from ember.distributions.distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """An exponential-family distribution; subclasses give ``_natural_params`` and
    ``_log_normalizer``, and ``entropy`` follows from them (by autograd) unless overridden."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """``F(theta) - <theta, grad F(theta)> - E[log h(x)]`` (Bregman form)."""
        result = -self._mean_carrier_measure
        params = [p.detach().requires_grad_() for p in self._natural_params]
        with ember.enable_grad():
            lg_normal = self._log_normalizer(*params)
            gradients = ember.autograd.grad(lg_normal.sum(), params, create_graph=True)
        result = result + lg_normal
        for param, grad in zip(params, gradients):
            result = result - param * grad
        return result
