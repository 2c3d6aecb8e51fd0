"""More transforms: softplus, lower-Cholesky, stick-breaking, reshape, independent and
cumulative-distribution transforms (re-exported by ``ember.distributions.transforms``)."""

from __future__ import annotations

import math

import ember
from ember.distributions import constraints
from ember.distributions.transforms import Transform
from ember.distributions.utils import _sum_rightmost, as_size, softplus
from ember.tensor import Tensor

__all__ = [
    "CatTransform",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "IndependentTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "ReshapeTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
]


def _diag_embed(diagonal: Tensor) -> Tensor:
    n = diagonal.shape[-1]
    eye = ember.eye(n, dtype=diagonal.dtype, device=diagonal.device)
    return diagonal.unsqueeze(-1) * eye


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other):
        return isinstance(other, SoftplusTransform)

    __hash__ = Transform.__hash__

    def _call(self, x):
        return softplus(x)

    def _inverse(self, y):
        return (-(-y).expm1()).log() + y

    def log_abs_det_jacobian(self, x, y):
        return -softplus(-x)


class LowerCholeskyTransform(Transform):
    """An unconstrained matrix to a lower-triangular one with a positive diagonal."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other):
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = Transform.__hash__

    def _call(self, x):
        return x.tril(-1) + _diag_embed(x.diagonal(0, -2, -1).exp())

    def _inverse(self, y):
        return y.tril(-1) + _diag_embed(y.diagonal(0, -2, -1).log())


class StickBreakingTransform(Transform):
    """An unconstrained vector of length K to the K+1 simplex, by stick breaking."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other):
        return isinstance(other, StickBreakingTransform)

    __hash__ = Transform.__hash__

    @staticmethod
    def _offset(x: Tensor, length: int, extra: int) -> Tensor:
        return length + extra - x.new_ones((length,)).cumsum(-1)

    def _call(self, x):
        offset = self._offset(x, x.shape[-1], 1)
        finfo = ember.finfo(x.dtype)
        z = (x - offset.log()).sigmoid().clamp(min=finfo.tiny, max=1.0 - finfo.eps)
        z_cumprod = (1 - z).cumprod(-1)
        ones = x.new_ones(x.shape[:-1] + (1,))
        return ember.cat([z, ones], -1) * ember.cat([ones, z_cumprod], -1)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        offset = self._offset(y, y_crop.shape[-1], 1)
        sf = (1 - y_crop.cumsum(-1)).clamp(min=ember.finfo(y.dtype).tiny)
        return y_crop.log() - sf.log() + offset.log()

    def log_abs_det_jacobian(self, x, y):
        offset = self._offset(x, x.shape[-1], 1)
        x = x - offset.log()
        return (-x - softplus(-x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        return shape[:-1] + (shape[-1] - 1,)


class ReshapeTransform(Transform):
    """Reshape the rightmost ``in_shape`` dims to ``out_shape`` (Jacobian 1)."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        self.in_shape, self.out_shape = as_size(in_shape), as_size(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def _call(self, x):
        batch = x.shape[: x.dim() - len(self.in_shape)]
        return x.reshape(batch + self.out_shape)

    def _inverse(self, y):
        batch = y.shape[: y.dim() - len(self.out_shape)]
        return y.reshape(batch + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        batch = x.shape[: x.dim() - len(self.in_shape)]
        return x.new_zeros(batch)

    def forward_shape(self, shape):
        return tuple(shape[: len(shape) - len(self.in_shape)]) + tuple(self.out_shape)

    def inverse_shape(self, shape):
        return tuple(shape[: len(shape) - len(self.out_shape)]) + tuple(self.in_shape)


class IndependentTransform(Transform):
    """``base_transform`` with its rightmost ``reinterpreted_batch_ndims`` dims as one event."""

    def __init__(self, base_transform, reinterpreted_batch_ndims: int, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        return self.base_transform(x)

    def _inverse(self, y):
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        result = self.base_transform.log_abs_det_jacobian(x, y)
        return _sum_rightmost(result, self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


class CumulativeDistributionTransform(Transform):
    """``y = distribution.cdf(x)``: to the unit interval (a copula's margin)."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)


class PositiveDefiniteTransform(Transform):
    """An unconstrained matrix to a positive-definite one: ``L L^T`` of its lower-Cholesky map."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = Transform.__hash__

    def _call(self, x):
        low = LowerCholeskyTransform()(x)
        return low @ low.transpose(-2, -1)

    def _inverse(self, y):
        from ember.distributions._linalg import cholesky

        return LowerCholeskyTransform().inv(cholesky(y))


def _tril_positions(n: int, offset: int, like: Tensor) -> Tensor:
    """Flat (row-major) positions of the lower triangle below ``offset`` of an n x n matrix."""
    rows, cols = like.xp.tril_indices(n, offset)
    return ember.tensor((rows * n + cols).tolist(), dtype=ember.int64, device=like.device)


def _tril_to_vec(matrix: Tensor, offset: int) -> Tensor:
    n = matrix.shape[-1]
    flat = matrix.reshape(matrix.shape[:-2] + (n * n,))
    return flat.index_select(-1, _tril_positions(n, offset, matrix))


def _vec_to_tril(vec: Tensor, offset: int) -> Tensor:
    count = vec.shape[-1]
    n = round((0.25 + 2 * count) ** 0.5 - offset - 0.5)  # count = n (n + 1 + 2 offset) / 2
    if n * (n + 1 + 2 * offset) // 2 != count:
        raise ValueError(f"the vector of length {count} is not a triangle of a square matrix")
    positions = _tril_positions(n, offset, vec).tolist()
    source = [count] * (n * n)  # index of the appended zero
    for k, position in enumerate(positions):
        source[position] = k
    padded = ember.cat([vec, vec.new_zeros(vec.shape[:-1] + (1,))], -1)
    index = ember.tensor(source, dtype=ember.int64, device=vec.device)
    return padded.index_select(-1, index).reshape(vec.shape[:-1] + (n, n))


class CorrCholeskyTransform(Transform):
    """A vector of D(D-1)/2 reals to the Cholesky factor of a D x D correlation matrix:
    ``tanh`` to (-1, 1), then stick-breaking along each row so that rows have unit norm."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other):
        return isinstance(other, CorrCholeskyTransform)

    __hash__ = Transform.__hash__

    def _call(self, x):
        eps = ember.finfo(x.dtype).eps
        r = _vec_to_tril(x.tanh().clamp(min=-1 + eps, max=1 - eps), -1)
        remaining = (1 - r.pow(2)).sqrt().cumprod(-1)
        n = r.shape[-1]
        ones = r.new_ones(r.shape[:-1] + (1,))
        scale = ember.cat([ones, remaining[..., :-1]], -1)
        return (r + ember.eye(n, dtype=r.dtype, device=r.device)) * scale

    def _inverse(self, y):
        left = 1 - (y * y).cumsum(-1)
        ones = y.new_ones(y.shape[:-1] + (1,))
        left_shifted = ember.cat([ones, left[..., :-1]], -1)
        t = _tril_to_vec(y, -1) / _tril_to_vec(left_shifted, -1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        left = 1 - (y * y).cumsum(-1)
        stick_breaking = 0.5 * _tril_to_vec(left, -2).log().sum(-1)
        tanh = -2 * (x + softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking + tanh

    def forward_shape(self, shape):
        count = shape[-1]
        n = round((0.25 + 2 * count) ** 0.5 + 0.5)
        if n * (n - 1) // 2 != count:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape):
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)


class CatTransform(Transform):
    """Apply ``tseq[k]`` to the k-th block (of ``lengths[k]``) along ``dim`` and concatenate."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError("CatTransform: one length per transform is needed")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.real

    @property
    def codomain(self):
        return constraints.real

    def _blocks(self, x):
        return x.split(self.lengths, self.dim)

    def _call(self, x):
        return ember.cat([t(b) for t, b in zip(self.transforms, self._blocks(x))], self.dim)

    def _inverse(self, y):
        return ember.cat([t.inv(b) for t, b in zip(self.transforms, self._blocks(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = [
            t.log_abs_det_jacobian(xb, yb)
            for t, xb, yb in zip(self.transforms, self._blocks(x), self._blocks(y))
        ]
        return ember.cat(parts, self.dim)


class StackTransform(Transform):
    """Apply ``tseq[k]`` to the k-th slice along ``dim`` and stack the results."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.dim = dim

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.real

    @property
    def codomain(self):
        return constraints.real

    def _call(self, x):
        return ember.stack([t(s) for t, s in zip(self.transforms, x.unbind(self.dim))], self.dim)

    def _inverse(self, y):
        return ember.stack([t.inv(s) for t, s in zip(self.transforms, y.unbind(self.dim))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = [
            t.log_abs_det_jacobian(xs, ys)
            for t, xs, ys in zip(self.transforms, x.unbind(self.dim), y.unbind(self.dim))
        ]
        return ember.stack(parts, self.dim)
