"""Wishart distribution over positive-definite matrices."""

from __future__ import annotations

import math
from typing import ClassVar

import ember
from ember.distributions import constraints
from ember.distributions._linalg import cholesky, solve_triangular
from ember.distributions._special import mvdigamma, mvlgamma, standard_gamma
from ember.distributions.distribution import Distribution
from ember.distributions.multivariate_normal import _precision_to_scale_tril
from ember.distributions.utils import as_size, lazy_property, standard_normal
from ember.tensor import Tensor

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _half_log_det(low: Tensor) -> Tensor:
    return low.diagonal(0, -2, -1).log().sum(-1)


class Wishart(Distribution):
    """Wishart with ``df`` degrees of freedom and scale given by one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``; ``rsample`` uses Bartlett's
    decomposition, so gradients reach the scale and ``df``."""

    arg_constraints: ClassVar[dict] = {
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
        "df": constraints.greater_than(0),
    }
    support = constraints.positive_definite
    has_rsample = True

    def __init__(
        self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None
    ):
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified."
            )
        matrix = given[0]
        if matrix.dim() < 2:
            raise ValueError(
                "scale_tril must be at least two-dimensional, with optional leading batch dimensions"
            )
        p = matrix.shape[-1]
        if not isinstance(df, Tensor):
            df = ember.tensor(float(df), dtype=matrix.dtype, device=matrix.device)
        batch_shape = ember.broadcast_shapes(matrix.shape[:-2], df.shape)
        event_shape = matrix.shape[-2:]
        self.df = df.expand(batch_shape)
        expanded = matrix.expand(batch_shape + (-1, -1))
        if scale_tril is not None:
            self.scale_tril = expanded
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self.covariance_matrix = expanded
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self.precision_matrix = expanded
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        self.arg_constraints = dict(self.arg_constraints, df=constraints.greater_than(p - 1))
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = as_size(batch_shape)
        matrix_shape = batch_shape + self.event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        new.df = self.df.expand(batch_shape)
        new.arg_constraints = self.arg_constraints
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(matrix_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        low = self._unbroadcasted_scale_tril
        return (low @ low.transpose(-2, -1)).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        low = self._unbroadcasted_scale_tril
        eye = ember.eye(low.shape[-1], dtype=low.dtype, device=low.device)
        low_inv = solve_triangular(low, eye, upper=False)
        return (low_inv.transpose(-2, -1) @ low_inv).expand(self._batch_shape + self._event_shape)

    @property
    def mean(self):
        return self.df.reshape(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = ember.where(factor <= 0, factor * math.nan, factor)
        return factor.reshape(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        cov = self.covariance_matrix
        diagonal = cov.diagonal(0, -2, -1)
        return self.df.reshape(self._batch_shape + (1, 1)) * (
            cov.pow(2) + diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2)
        )

    def _bartlett(self, sample_shape) -> Tensor:
        """The lower factor ``A`` with chi-distributed diagonal and normal strict lower part."""
        p = self._event_shape[-1]
        shape = as_size(sample_shape) + self._batch_shape
        dofs = ember.stack([self.df - i for i in range(p)], -1).expand(shape + (p,))
        chi = (2 * standard_gamma(0.5 * dofs)).sqrt()
        noise = standard_normal(shape + (p, p), self.df).tril(-1)
        eye = ember.eye(p, dtype=chi.dtype, device=chi.device)
        return noise + chi.unsqueeze(-1) * eye

    def rsample(self, sample_shape=()):
        factor = self._unbroadcasted_scale_tril @ self._bartlett(sample_shape)
        return factor @ factor.transpose(-2, -1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        low = self._unbroadcasted_scale_tril
        value_low = cholesky(value)
        log_det_value = 2 * _half_log_det(value_low)
        trace = solve_triangular(low, value_low, upper=False).pow(2).sum(-1).sum(-1)
        return (
            -nu * (p * _LOG_2 / 2 + _half_log_det(low))
            - mvlgamma(nu / 2, p)
            + (nu - p - 1) / 2 * log_det_value
            - trace / 2
        )

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        return (
            (p + 1) * (p * _LOG_2 / 2 + _half_log_det(self._unbroadcasted_scale_tril))
            + mvlgamma(nu / 2, p)
            - (nu - p - 1) / 2 * mvdigamma(nu / 2, p)
            + nu * p / 2
        )
