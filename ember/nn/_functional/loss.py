"""nn.functional: loss functions, with PyTorch's names, arguments, defaults and semantics.

Every loss takes ``reduction`` ('none' | 'mean' | 'sum'; the legacy ``size_average`` and
``reduce`` still work). They are composites of primitives in log-sum-exp / logits forms, except
the few kernels in ``ember.ops.loss``. Beyond PyTorch: the pointwise regression losses and BCE
raise, naming both shapes and the reshape that was probably meant, where PyTorch only warns and
broadcasts (input (32, 1) against target (32,) would silently compare every pair); class
indices out of range name the index, its position and the valid range.
"""

from __future__ import annotations

import math

from ember.nn._functional._loss_checks import (
    _check_class_targets,
    _check_cosine_shapes,
    _check_float_target,
    _check_multilabel_targets,
    _check_require_float,
    _check_same_dims,
    _check_same_shape,
    _check_unit_interval,
    _check_weight_shape,
    _ctc_inputs,
    _gaussian_var,
    _is_probability_target,
    _reduce,
    _resolve_reduction,
    _same_dtype,
)
from ember.ops import loss as loss_ops
from ember.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` without overflow (its gradient, sigmoid(x), is exact too)."""
    return x.logaddexp(0.0)


def _weighted(loss: Tensor, weight, reduction: str) -> Tensor:
    """Apply the optional per-element ``weight`` and reduce (a weighted mean divides by sum(w))."""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(input - target) ** 2``; shapes must match exactly.

    >>> import ember
    >>> mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
    tensor(2.)
    """
    reduction = _resolve_reduction("mse_loss", size_average, reduce, reduction)
    _check_same_shape("mse_loss", input, target)
    _check_weight_shape("mse_loss", input, weight)
    diff = input - target
    return _weighted(diff * diff, weight, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|input - target|``; shapes must match exactly.

    >>> import ember
    >>> l1_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
    tensor(1.)
    """
    reduction = _resolve_reduction("l1_loss", size_average, reduce, reduction)
    _check_same_shape("l1_loss", input, target)
    _check_weight_shape("l1_loss", input, weight)
    return _weighted((input - target).abs(), weight, reduction)


def smooth_l1_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``).

    >>> import ember
    >>> smooth_l1_loss(ember.tensor([0.0, 0.0]), ember.tensor([0.5, 3.0]), reduction="sum")
    tensor(2.6250)
    """
    reduction = _resolve_reduction("smooth_l1_loss", size_average, reduce, reduction)
    _check_same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    diff = (input - target).abs()
    if beta == 0:
        return _reduce(diff, reduction)
    loss = (diff * diff * (0.5 / beta)).where(diff < beta, diff - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    >>> import ember
    >>> huber_loss(ember.tensor([0.0, 0.0]), ember.tensor([0.5, 3.0]), reduction="sum")
    tensor(2.6250)
    """
    reduction = _resolve_reduction("huber_loss", None, None, reduction)
    _check_same_shape("huber_loss", input, target)
    _check_weight_shape("huber_loss", input, weight)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    diff = (input - target).abs()
    loss = (diff * diff * 0.5).where(diff < delta, (diff - 0.5 * delta) * delta)
    if weight is not None:  # PyTorch takes a plain mean of the weighted loss here
        loss = loss * weight
    return _reduce(loss, reduction)


# -- classification ------------------------------------------------------------------------
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (N, C, d1, ...).

    The weighted mean divides by the sum of the weights of the non-ignored targets.

    >>> import ember
    >>> logp = ember.tensor([[0.0, -1.0], [-2.0, 0.0]])
    >>> nll_loss(logp, ember.tensor([1, 1]))
    tensor(0.5000)
    """
    reduction = _resolve_reduction("nll_loss", size_average, reduce, reduction)
    _check_require_float("nll_loss", input)
    _check_class_targets("nll_loss", input, target, ignore_index, weight)
    class_weight = None if weight is None else weight.detach()._cast(input._data.dtype)
    return loss_ops.NLLLoss.apply(input, target, class_weight, ignore_index, reduction)


def _nll(logp: Tensor, target: Tensor, weight, ignore_index: int):
    """The per-element loss and per-element weights (0 where ignored) of class-index targets."""
    class_dim = 1 if logp.dim() >= 2 else 0
    kept = target != ignore_index
    safe = target.where(kept, 0)
    picked = logp.gather(class_dim, safe.unsqueeze(class_dim)).squeeze(class_dim)
    weights = kept._cast(logp._data.dtype)
    if weight is not None:
        weights = weight[safe] * weights
    loss = (-picked).where(kept, 0.0) * weights
    return loss, weights


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy of logits (N, C, d1, ...) against class indices or class probabilities.

    Class indices (an integer target without the class dim) honour ``ignore_index``; a floating
    target of the input's shape is a distribution over classes. ``label_smoothing`` mixes the
    target with the uniform distribution. Computed from log_softmax, so logits of any size are
    safe.

    >>> import ember
    >>> logits = ember.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> cross_entropy(logits, ember.tensor([0, 1]))
    tensor(0.1269)
    """
    op = "cross_entropy"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    _check_require_float(op, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    class_dim = 1 if input.dim() >= 2 else 0
    if _is_probability_target(op, input, target):
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing, class_dim)
    _check_class_targets(op, input, target, ignore_index, weight)
    if input.dim() == 2 and label_smoothing == 0.0:
        return _fused_cross_entropy(input, target, weight, ignore_index, reduction)
    logp = input.log_softmax(class_dim)
    loss, weights = _nll(logp, target, weight, ignore_index)
    if reduction == "mean":
        loss = loss.sum() / weights.sum()
    else:
        loss = _reduce(loss, reduction)
    if label_smoothing == 0.0:
        return loss
    num_classes = input.shape[class_dim]
    if weight is not None:
        logp = logp * weight.reshape([num_classes] + [1] * (input.dim() - class_dim - 1))
    smooth = (-logp.sum(class_dim)).where(target != ignore_index, 0.0)
    smooth = smooth.sum() / weights.sum() if reduction == "mean" else _reduce(smooth, reduction)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / num_classes)


def _fused_cross_entropy(input, target, weight, ignore_index, reduction):
    """(N, C) logits against class indices in one primitive (see ``ember.ops.loss``)."""
    class_weight = None if weight is None else weight.detach()._cast(input._data.dtype)
    return loss_ops.SoftmaxCrossEntropy.apply(input, target, class_weight, ignore_index, reduction)


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing, class_dim):
    num_classes = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / num_classes
    terms = input.log_softmax(class_dim) * target
    if weight is not None:
        terms = terms * weight.reshape([num_classes] + [1] * (input.dim() - class_dim - 1))
    return _reduce(-terms.sum(class_dim), reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``-(t log x + (1 - t) log(1 - x))`` for probabilities ``x``; each log is clamped at -100.

    >>> import ember
    >>> binary_cross_entropy(ember.tensor([0.5, 1.0]), ember.tensor([1.0, 0.0]), reduction="none")
    tensor([  0.6931, 100.0000])
    """
    op = "binary_cross_entropy"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    _check_same_shape(op, input, target)
    _check_require_float(op, input)
    _check_float_target(op, target)
    _check_unit_interval(op, input)
    loss = loss_ops.BinaryCrossEntropy.apply(*_same_dtype(input, target))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of ``sigmoid(input)``, computed from the logits: ``(1 - t) x + w_p softplus(-x)``.

    ``pos_weight`` scales the positive term: ``w_p = 1 + (pos_weight - 1) t``.

    >>> import ember
    >>> binary_cross_entropy_with_logits(ember.tensor([0.0, 1e4]), ember.tensor([1.0, 1.0]))
    tensor(0.3466)
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    _check_same_shape(op, input, target)
    _check_require_float(op, input)
    _check_float_target(op, target)
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1.0) * target + 1.0
    loss = (1.0 - target) * input + log_weight * _softplus(-input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """``target * (log(target) - input)`` with ``input`` log-probabilities; 'batchmean' divides by N.

    >>> import ember
    >>> p = ember.tensor([[0.5, 0.5]])
    >>> kl_div(p.log(), p, reduction="batchmean")
    tensor(0.)
    """
    reduction = _resolve_reduction("kl_div", size_average, reduce, reduction, ("batchmean",))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood: ``exp(x) - t x`` (log input) or ``x - t log(x + eps)``.

    ``full`` adds Stirling's term ``t log t - t + 0.5 log(2 pi t)`` where ``t > 1``.

    >>> import ember
    >>> poisson_nll_loss(ember.tensor([0.0]), ember.tensor([1.0]))
    tensor(1.)
    """
    reduction = _resolve_reduction("poisson_nll_loss", size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        safe = target.where(big, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + stirling.where(big, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log-likelihood ``0.5 (log var + (input - target)**2 / var)``.

    ``var`` may match the input, lack its last dim, or differ from it in one dim of size 1
    (homoscedastic); it is clamped at ``eps`` without cutting its gradient, as in PyTorch.

    >>> import ember
    >>> gaussian_nll_loss(ember.tensor([1.0]), ember.tensor([1.0]), ember.tensor([1.0]))
    tensor(0.)
    """
    reduction = _resolve_reduction("gaussian_nll_loss", None, None, reduction)
    var = _gaussian_var(input, var)
    floor = var.detach()
    var = var + (floor.clamp(min=eps) - floor)
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -- margins and embeddings ---------------------------------------------------------------
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


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist Temporal Classification loss of ``log_probs`` (T, N, C) or (T, C).

    ``targets`` are padded (N, S) or concatenated 1-D; lengths are tensors or int sequences.
    'mean' divides each sample's loss by its target length, then averages over the batch.

    >>> import ember
    >>> logp = ember.zeros(3, 1, 2).log_softmax(2)
    >>> ctc_loss(logp, ember.tensor([[1]]), [3], [1], reduction="sum")
    tensor(0.2877)
    """
    op = "ctc_loss"
    reduction = _resolve_reduction(op, None, None, reduction)
    _check_require_float(op, log_probs)
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    padded, in_lens, tgt_lens = _ctc_inputs(lp, targets, input_lengths, target_lengths, blank, batched)
    nll = loss_ops.CTCLoss.apply(lp, padded, in_lens, tgt_lens, blank, zero_infinity)
    if reduction == "mean":
        divisor = lp._wrap_like(lp.xp.maximum(tgt_lens, 1).astype(lp._data.dtype))
        return (nll / divisor).mean()
    if reduction == "sum":
        return nll.sum()
    return nll if batched else nll.reshape(())
