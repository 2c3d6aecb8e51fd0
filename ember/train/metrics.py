"""Metrics: functions of ``(pred, target)`` computed on a whole validation set.

Any callable ``metric(pred, target) -> Tensor or float`` works; its name in the recorder is its
``name`` attribute, else its ``__name__``, else its class name in snake case.

>>> import ember
>>> pred = ember.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
>>> target = ember.tensor([1, 1, 1])
>>> round(float(accuracy(pred, target)), 4), round(float(error_rate(pred, target)), 4)
(0.6667, 0.3333)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

import ember

__all__ = [
    "F1Score",
    "accuracy",
    "compute_metrics",
    "error_rate",
    "mae",
    "metric_name",
    "mse",
    "rmse",
    "top_k_accuracy",
]


def _labels(pred: ember.Tensor) -> ember.Tensor:
    return pred.argmax(-1) if pred.ndim > 1 else (pred > 0.5).long()


def accuracy(pred: ember.Tensor, target: ember.Tensor) -> ember.Tensor:
    """The fraction of samples whose highest-scoring class is the target."""
    return (_labels(pred) == target).float().mean()


def error_rate(pred: ember.Tensor, target: ember.Tensor) -> ember.Tensor:
    """``1 - accuracy``."""
    return 1 - accuracy(pred, target)


def top_k_accuracy(pred: ember.Tensor, target: ember.Tensor, k: int = 5) -> ember.Tensor:
    """The fraction of samples whose target is among the ``k`` highest-scoring classes."""
    top = pred.topk(min(k, pred.shape[-1]), dim=-1).indices
    return (top == target.unsqueeze(-1)).any(-1).float().mean()


def mse(pred: ember.Tensor, target: ember.Tensor) -> ember.Tensor:
    """Mean squared error."""
    return ((pred - target.reshape(pred.shape)) ** 2).mean()


def mae(pred: ember.Tensor, target: ember.Tensor) -> ember.Tensor:
    """Mean absolute error."""
    return (pred - target.reshape(pred.shape)).abs().mean()


def rmse(pred: ember.Tensor, target: ember.Tensor) -> ember.Tensor:
    """Root mean squared error."""
    return mse(pred, target).sqrt()


class F1Score:
    """The F1 score of a classifier: ``average`` is ``'macro'``, ``'micro'``, ``'weighted'`` or
    ``'binary'`` (the positive class is ``pos_label``), as scikit-learn's ``f1_score``.

    >>> import ember
    >>> f1 = F1Score(average="macro")
    >>> round(float(f1(ember.tensor([[1., 0.], [0., 1.], [0., 1.]]), ember.tensor([0, 1, 0]))), 4)
    0.6667
    """

    def __init__(self, average: str = "macro", pos_label: int = 1, num_classes: int | None = None):
        if average not in ("macro", "micro", "weighted", "binary"):
            raise ValueError(
                f"F1Score: average should be 'macro', 'micro', 'weighted' or 'binary', got {average!r}"
            )
        self.average, self.pos_label, self.num_classes = average, pos_label, num_classes
        self.name = "f1_score" if average == "macro" else f"f1_{average}"

    def __call__(self, pred: ember.Tensor, target: ember.Tensor) -> float:
        labels = _labels(pred).cpu().numpy().astype(np.int64).reshape(-1)
        actual_labels = target.cpu().numpy().astype(np.int64).reshape(-1)
        n = self.num_classes or max(int(labels.max()), int(actual_labels.max()), pred.shape[-1] - 1) + 1
        hits = np.bincount(actual_labels[labels == actual_labels], minlength=n).astype(np.float64)
        predicted = np.bincount(labels, minlength=n).astype(np.float64)
        actual = np.bincount(actual_labels, minlength=n).astype(np.float64)
        if self.average == "micro":
            return float(hits.sum() / len(actual_labels))
        denom = predicted + actual
        f1 = np.divide(2 * hits, denom, out=np.zeros(n), where=denom > 0)
        if self.average == "binary":
            return float(f1[self.pos_label])
        if self.average == "weighted":
            return float((f1 * actual).sum() / actual.sum())
        return float(f1[denom > 0].mean())


def metric_name(metric: Callable) -> str:
    """The recorder's key for ``metric``."""
    name = getattr(metric, "name", None) or getattr(metric, "__name__", None)
    if name:
        return name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(metric).__name__).lower()


def compute_metrics(
    metrics: Iterable[Callable], pred: ember.Tensor, target: ember.Tensor
) -> dict[str, float]:
    """``{name: value}`` of every metric on ``(pred, target)``."""
    return {metric_name(m): float(m(pred, target)) for m in metrics}
