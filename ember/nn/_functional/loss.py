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

from ember.amp.autocast_mode import autocast_to
from ember.nn._functional._loss_checks import (
    _check_class_targets,
    _check_float_target,
    _check_require_float,
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
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
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


@autocast_to("float32")
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


@autocast_to("float32")
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


@autocast_to("float32")
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


@autocast_to("float32")
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


@autocast_to("float32")
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


@autocast_to("float32")
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


@autocast_to("float32")
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
