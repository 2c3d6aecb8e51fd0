"""nn.functional: losses composed of other functions: ``triplet_margin_with_distance_loss`` and
``linear_cross_entropy`` (a linear projection followed by ``cross_entropy``)."""

from __future__ import annotations

import math
from collections.abc import Callable

from ember.nn._functional._loss_checks import _reduce, _resolve_reduction
from ember.nn._functional.distance import pairwise_distance
from ember.nn._functional.loss import cross_entropy
from ember.tensor import Tensor

__all__ = ["linear_cross_entropy", "triplet_margin_with_distance_loss"]


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` for any distance (default ``pairwise_distance``).

    >>> import ember
    >>> a = ember.tensor([[0.0, 0.0]])
    >>> triplet_margin_with_distance_loss(a, a, a + 3.0, distance_function=lambda x, y:
    ...                                   (x - y).abs().sum(-1))
    tensor(0.)
    """
    op = "triplet_margin_with_distance_loss"
    reduction = _resolve_reduction(op, None, None, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if not anchor.dim() == positive.dim() == negative.dim():
        raise RuntimeError(
            f"{op}: The anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, "
            f"and negative {negative.dim()}D inputs"
        )
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options=None,
) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    ``input`` is (N, in) or (in,); ``linear_weight`` is (C, in) or (C, d1, ..., dK, in) for a
    K-dimensional loss, whose logits are then (N, C, d1, ..., dK). ``options`` (PyTorch's
    chunking settings) is accepted and ignored: ember always computes the reference form.

    >>> import ember
    >>> linear_cross_entropy(ember.ones(2, 3), ember.zeros(4, 3), ember.tensor([0, 1]))
    tensor(1.3863)
    """
    if input.dim() not in (1, 2):
        raise RuntimeError(
            f"linear_cross_entropy: expected input with dimensionality 1 or 2, got shape {list(input.shape)}"
        )
    classes, *extra, in_features = linear_weight.shape
    if input.shape[-1] != in_features:
        raise RuntimeError(
            f"linear_cross_entropy: input of shape {list(input.shape)} does not "
            f"match linear_weight of shape {list(linear_weight.shape)} (last dims "
            "must agree)"
        )
    logits = input.matmul(linear_weight.reshape(-1, in_features).t())
    logits = logits.reshape(tuple(input.shape[:-1]) + (classes, *extra))
    if linear_bias is not None:
        logits = logits + linear_bias
    if math.isnan(label_smoothing) or not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"linear_cross_entropy: expected label_smoothing to be in range [0, 1], got {label_smoothing}"
        )
    return cross_entropy(
        logits,
        target,
        weight,
        ignore_index=-100 if ignore_index is None else ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
