"""LKJCholesky: the LKJ distribution over Cholesky factors of correlation matrices."""

from __future__ import annotations

import math
from typing import ClassVar

import ember
from ember.distributions import constraints
from ember.distributions._special import lgamma, mvlgamma
from ember.distributions.beta import Beta
from ember.distributions.distribution import Distribution
from ember.distributions.utils import as_size, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJ(``concentration``) over ``dim x dim`` correlation matrices, as their lower Cholesky
    factors; sampled by the onion method (Lewandowski, Kurowicka and Joe, 2009).

    Row i's squared off-diagonal norm is drawn from Beta(i / 2, ...) as the paper has it;
    PyTorch draws Beta(i - 1/2, ...), which skews the correlations of rows 2 and on (their
    E[r^2] comes out above the 1 / (2 eta + dim - 1) that ``log_prob`` implies).
    """

    arg_constraints: ClassVar[dict] = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.shape
        event_shape = (dim, dim)
        # the squared norm of row i's off-diagonal part is Beta(i / 2, c + (dim - 1 - i) / 2)
        marginal = self.concentration + 0.5 * (dim - 2)
        offset = ember.arange(dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = ember.cat([offset.new_zeros((1,)), offset])
        self._beta = Beta(0.5 * offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset, validate_args=False)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = as_size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        with ember.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            shape = self._extended_shape(sample_shape)
            normal = ember.randn(shape, dtype=y.dtype, device=y.device).tril(-1)
            norm = normal.pow(2).sum(-1, keepdim=True).sqrt()
            direction = normal / ember.where(norm > 0, norm, ember.ones_like(norm))
            w = y.sqrt() * direction
            tiny = ember.finfo(w.dtype).tiny
            diagonal = (1 - w.pow(2).sum(-1)).clamp(min=tiny).sqrt()
            eye = ember.eye(self.dim, dtype=w.dtype, device=w.device)
            return w + diagonal.unsqueeze(-1) * eye

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diagonal = value.diagonal(0, -2, -1)[..., 1:]
        order = ember.arange(2, self.dim + 1, dtype=value.dtype, device=value.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diagonal.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalizer = 0.5 * dm1 * math.log(math.pi) + mvlgamma(alpha - 0.5, dm1) - lgamma(alpha) * dm1
        return unnormalized - normalizer
