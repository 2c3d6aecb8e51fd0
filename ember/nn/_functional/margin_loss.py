"""nn.functional: the margin and embedding losses (ranking, hinge, cosine, multi-margin,
triplet), with PyTorch's names, arguments, defaults and semantics; the others are in ``loss.py``.
"""

from __future__ import annotations

from ember.amp.autocast_mode import autocast_to
from ember.nn._functional._loss_checks import (
    _check_class_targets,
    _check_cosine_shapes,
    _check_multilabel_targets,
    _check_require_float,
    _check_same_dims,
    _check_same_shape,
    _reduce,
    _resolve_reduction,
)
from ember.nn._functional.loss import _softplus
from ember.tensor import Tensor

__all__ = [
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]


@autocast_to("float32")
def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -target (input1 - input2) + margin)``, target in {1, -1}.

    >>> import ember
    >>> margin_ranking_loss(ember.tensor([1.0]), ember.tensor([2.0]), ember.tensor([1.0]))
    tensor(1.)
    """
    reduction = _resolve_reduction("margin_ranking_loss", size_average, reduce, reduction)
    _check_same_dims("margin_ranking_loss", input1, input2, target)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


@autocast_to("float32")
def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1.

    >>> import ember
    >>> hinge_embedding_loss(ember.tensor([0.3, 0.3]), ember.tensor([1.0, -1.0]), reduction="none")
    tensor([0.3000, 0.7000])
    """
    reduction = _resolve_reduction("hinge_embedding_loss", size_average, reduce, reduction)
    hinge = (margin - input).clamp(min=0).where(target != 1, 0.0)
    return _reduce(hinge + input.where(target != -1, 0.0), reduction)


@autocast_to("float32")
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1.

    >>> import ember
    >>> x = ember.tensor([[1.0, 0.0]])
    >>> cosine_embedding_loss(x, x, ember.tensor([1.0]))
    tensor(0.)
    """
    reduction = _resolve_reduction("cosine_embedding_loss", size_average, reduce, reduction)
    _check_cosine_shapes(input1, input2, target)
    tiny = 1e-12
    dot = (input1 * input2).sum(-1)
    norms = (((input1 * input1).sum(-1) + tiny) * ((input2 * input2).sum(-1) + tiny)).sqrt()
    cos = dot / norms
    loss = (1 - cos).where(target == 1, 0.0) + (cos - margin).clamp(min=0).where(target == -1, 0.0)
    return _reduce(loss, reduction)


@autocast_to("float32")
def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``log(1 + exp(-target * input))``, target in {1, -1}, without overflow.

    >>> import ember
    >>> soft_margin_loss(ember.tensor([0.0]), ember.tensor([1.0]))
    tensor(0.6931)
    """
    reduction = _resolve_reduction("soft_margin_loss", size_average, reduce, reduction)
    _check_same_shape("soft_margin_loss", input, target)
    return _reduce(_softplus(-target * input), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Per-class logistic loss averaged over the classes (last dim): one value per sample.

    >>> import ember
    >>> multilabel_soft_margin_loss(ember.tensor([[0.0, 0.0]]), ember.tensor([[1.0, 0.0]]))
    tensor(0.6931)
    """
    reduction = _resolve_reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    _check_same_shape("multilabel_soft_margin_loss", input, target)
    loss = target * _softplus(-input) + (1.0 - target) * _softplus(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


@autocast_to("float32")
def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: ``sum_{i != y} max(0, margin - x[y] + x[i]) ** p / C``.

    >>> import ember
    >>> multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
    tensor(0.3250)
    """
    op = "multi_margin_loss"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got p={p}")
    _check_require_float(op, input)
    _check_class_targets(op, input, target, None, weight, class_dim=input.dim() - 1)
    x = input if input.dim() == 2 else input.reshape(1, -1)
    y = target.reshape(-1, 1)
    num_classes = x.shape[1]
    hinge = (margin - x.gather(1, y) + x).relu()
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[y]
    others = (_class_range(x, num_classes) != y)._cast(x._data.dtype)
    loss = (hinge * others).sum(1) / num_classes
    return _reduce(loss if input.dim() == 2 else loss.reshape(()), reduction)


@autocast_to("float32")
def multilabel_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Hinge between each target class and each non-target class, averaged over the classes.

    ``target`` holds class indices padded with -1 (only those before the first -1 count).

    >>> import ember
    >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    >>> multilabel_margin_loss(x, ember.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    op = "multilabel_margin_loss"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    _check_require_float(op, input)
    _check_multilabel_targets(op, input, target)
    x = input if input.dim() == 2 else input.reshape(1, -1)
    y = target if target.dim() == 2 else target.reshape(1, -1)
    num_classes = x.shape[1]
    counted = (y >= 0)._cast(x._data.dtype).cumprod(1)  # labels before the first -1
    safe = y.where(y >= 0, 0)
    classes = _class_range(x, num_classes)
    is_target = ((safe.unsqueeze(2) == classes) & (counted.unsqueeze(2) > 0)).any(1)
    hinge = (1.0 - x.gather(1, safe).unsqueeze(2) + x.unsqueeze(1)).relu()
    pairs = counted.unsqueeze(2) * (~is_target)._cast(x._data.dtype).unsqueeze(1)
    loss = (hinge * pairs).sum((1, 2)) / num_classes
    return _reduce(loss if input.dim() == 2 else loss.reshape(()), reduction)


def _class_range(x: Tensor, n: int) -> Tensor:
    """The class indices ``0..n-1`` (int64) on ``x``'s device."""
    return x._wrap_like(x.xp.arange(n, dtype=x.xp.int64))


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    return (x1 - x2 + eps).norm(p, -1)


@autocast_to("float32")
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with the p-norm distance ``||x1 - x2 + eps||_p``.

    >>> import ember
    >>> a = ember.tensor([[0.0, 0.0]])
    >>> triplet_margin_loss(a, a, a + 3.0, eps=0.0)
    tensor(0.)
    """
    op = "triplet_margin_loss"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    _check_same_dims(op, anchor, positive, negative)
    d_pos = _pairwise_distance(anchor, positive, p, eps)
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(_pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)
