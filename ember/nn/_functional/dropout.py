"""nn.functional: dropout, channel-wise (feature) dropout and alpha dropout.

Masks are drawn from ember's default generator (``ember.manual_seed`` reproduces them); in
eval mode (``training=False``) every function returns its input unchanged.
"""

from __future__ import annotations

import warnings

from ember import random, random_ops
from ember.backend import fused
from ember.ops import dropout as _ops
from ember.tensor import Tensor, make

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

_SELU_NEG_SATURATION = 1.7580993408473766  # -SELU's lower limit: scale * alpha


def _check_p(op: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep(shape: tuple, p: float, like: Tensor):
    """A 0/1 array of ``shape`` in ``like``'s dtype and device, 1 with probability ``1 - p``."""
    draws = random_ops.rand(shape, dtype=like.dtype, device=like.device)._data
    return (draws >= p).astype(draws.dtype)  # u in [0, 1): P(u >= p) = 1 - p


def _feature_shape(input: Tensor) -> tuple:
    """One draw per (sample, channel): the mask shape (N, C, 1, ...)."""
    return tuple(input.shape[:2]) + (1,) * (input.dim() - 2)


def _masked(input: Tensor, p: float, shape: tuple, inplace: bool) -> Tensor:
    """``input * mask / (1 - p)`` with a Bernoulli(1 - p) ``mask`` of ``shape`` (broadcast)."""
    if p == 1.0:
        scale = make(input.xp.zeros(shape, input._data.dtype))
    else:
        keep = _keep(shape, p, input)
        keep *= 1.0 / (1.0 - p)
        scale = make(keep)
    return input.mul_(scale) if inplace else input * scale


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``, in training.

    >>> import ember
    >>> x = ember.ones(4)
    >>> dropout(x, 0.5, training=False) is x
    True
    >>> sorted(set(dropout(ember.ones(100), 0.5).tolist()))
    [0.0, 2.0]
    """
    _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    if not inplace and p < 1.0 and fused.kernel(input.xp, "dropout.dropout") is not None:
        return _ops.Dropout.apply(input, p, *philox_key())
    return _masked(input, p, tuple(input.shape), inplace)


def philox_key() -> tuple[int, int]:
    """A (seed, offset) pair for the fused dropout kernel, drawn from ember's default generator:
    ``manual_seed`` reproduces the masks, and each call advances the generator's state."""
    seed, offset = random.default_generator.np.integers(0, 2**63 - 1, size=2)
    return int(seed), int(offset)


def _feature_dropout(
    op: str, input: Tensor, p: float, training: bool, inplace: bool, batched_dim: int
) -> Tensor:
    """Channel-wise dropout of a batched (``batched_dim``-d) or unbatched (one dim fewer) input."""
    _check_p(op, p)
    if input.dim() not in (batched_dim - 1, batched_dim):
        raise RuntimeError(
            f"{op}: Expected {batched_dim - 1}D or {batched_dim}D input (an optional batch dim, a channel "
            f"dim and {batched_dim - 2} spatial dims), but received a {input.dim()}D input of shape "
            f"{list(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    if input.dim() == batched_dim - 1:
        shape = (input.shape[0],) + (1,) * (input.dim() - 1)
    else:
        shape = _feature_shape(input)
    return _masked(input, p, shape, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, L) or (C, L) input with probability ``p``.

    >>> import ember
    >>> dropout1d(ember.ones(2, 3, 4), 0.5).shape
    ember.Size([2, 3, 4])
    """
    return _feature_dropout("dropout1d", input, p, training, inplace, 3)


def _warn_rank(op: str, input: Tensor, spatial: int) -> None:
    """PyTorch's deprecation warning for a channel-wise dropout on an input of unexpected rank."""
    if input.dim() not in (spatial + 1, spatial + 2):
        warnings.warn(
            f"{op}: Received a {input.dim()}-D input to {op}, which is deprecated and will result "
            "in an error in a future release. To retain the behavior and silence this warning, "
            f"please use dropout instead. Note that {op} exists to provide channel-wise dropout "
            f"on inputs with {spatial} spatial dimensions, a channel dimension, and an optional "
            f"batch dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).",
            stacklevel=3,
        )


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, H, W) input with probability ``p``.

    A 3-D input is taken as (N, C, L), as PyTorch does (with the same warning); other ranks warn
    and drop along dims 0 and 1, as PyTorch does.

    >>> import ember
    >>> dropout2d(ember.ones(2, 3, 4, 4), 0.5).shape
    ember.Size([2, 3, 4, 4])
    """
    _check_p("dropout2d", p)
    _warn_rank("dropout2d", input, 2)
    if input.dim() == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
            "To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    if input.dim() < 2:
        raise RuntimeError(
            "dropout2d: Feature dropout requires at least 2 dimensions in the "
            f"input, got shape {list(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    return _masked(input, p, _feature_shape(input), inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, D, H, W) or (C, D, H, W) input with probability ``p``.

    Other ranks warn and are taken as unbatched (dropping along dim 0), as PyTorch does.

    >>> import ember
    >>> dropout3d(ember.ones(1, 2, 2, 2, 2), 0.5).shape
    ember.Size([1, 2, 2, 2, 2])
    """
    _check_p("dropout3d", p)
    _warn_rank("dropout3d", input, 3)
    if input.dim() == 0:
        raise RuntimeError(
            "dropout3d: Feature dropout requires at least 2 dimensions in the input, got a 0-D input"
        )
    if not training or p == 0.0:
        return input
    if input.dim() == 5:
        return _masked(input, p, _feature_shape(input), inplace)
    return _masked(input, p, (input.shape[0],) + (1,) * (input.dim() - 1), inplace)


def _alpha(input: Tensor, p: float, shape: tuple, inplace: bool) -> Tensor:
    """Alpha dropout: dropped units go to SELU's saturation value, then an affine map keeps the
    mean and variance of a standardized input (PyTorch's constants)."""
    if p == 1.0:
        zeros = make(input.xp.zeros(shape, input._data.dtype))
        return input.mul_(zeros) if inplace else input * zeros
    keep = _keep(shape, p, input)
    a = ((_SELU_NEG_SATURATION**2 * p + 1.0) * (1.0 - p)) ** -0.5
    shift = make((keep - 1.0) * (_SELU_NEG_SATURATION * a) + _SELU_NEG_SATURATION * a * p)
    keep *= a
    scale = make(keep)
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps zero mean and unit variance of its input.

    >>> import ember
    >>> x = ember.randn(3)
    >>> alpha_dropout(x, 0.2) is x
    True
    """
    _check_p("alpha_dropout", p)
    if not training or p == 0.0:
        return input
    return _alpha(input, p, tuple(input.shape), inplace)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels (dim 1) of an (N, C, ...) input.

    >>> import ember
    >>> feature_alpha_dropout(ember.ones(2, 3, 4), 0.5, training=True).shape
    ember.Size([2, 3, 4])
    """
    _check_p("feature_alpha_dropout", p)
    if not training or p == 0.0:
        return input
    if input.dim() < 2:
        raise RuntimeError(
            f"feature_alpha_dropout: expected an input of at least 2 dims (N, C, ...), got shape "
            f"{list(input.shape)}"
        )
    return _alpha(input, p, _feature_shape(input), inplace)
