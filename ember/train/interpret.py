"""``ClassificationInterpretation``: the confusion matrix and the worst predictions of a classifier."""

from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as F
from ember.train.plotting import pyplot, save_figure

__all__ = ["ClassificationInterpretation"]


class ClassificationInterpretation:
    """Predictions, targets and per-sample losses of a classifier over one loader.

    ``confusion_matrix()`` counts (rows: actual class, columns: predicted), ``plot_confusion_matrix``
    draws it, ``top_losses(k)`` gives the ``k`` worst samples, ``most_confused()`` the most frequent
    mistakes.
    """

    def __init__(
        self, preds: ember.Tensor, targets: ember.Tensor, losses: ember.Tensor, classes: list | None = None
    ) -> None:
        self.preds, self.targets, self.losses = preds, targets, losses
        n = int(preds.shape[-1])
        self.classes = list(classes) if classes is not None else list(range(n))

    @classmethod
    def from_learner(cls, learn, loader=None) -> ClassificationInterpretation:
        pred, target = learn.get_preds(loader)
        losses = F.cross_entropy(pred, target, reduction="none")
        dataset = (loader or learn.valid_loader).dataset
        classes = getattr(dataset, "classes", None) or getattr(
            getattr(dataset, "dataset", None), "classes", None
        )
        return cls(pred, target, losses, classes)

    def confusion_matrix(self) -> np.ndarray:
        """``n x n`` int64 counts: row = actual class, column = predicted class."""
        n = len(self.classes)
        actual = self.targets.cpu().numpy().astype(np.int64)
        predicted = self.preds.argmax(-1).cpu().numpy().astype(np.int64)
        return np.bincount(actual * n + predicted, minlength=n * n).reshape(n, n)

    def accuracy(self) -> float:
        cm = self.confusion_matrix()
        return float(np.trace(cm) / max(1, cm.sum()))

    def top_losses(self, k: int = 9) -> tuple[ember.Tensor, ember.Tensor]:
        """``(losses, indices)`` of the ``k`` samples with the highest loss, highest first."""
        result = self.losses.topk(min(k, len(self.losses)))
        return result.values, result.indices

    def most_confused(self, min_count: int = 1) -> list[tuple]:
        """``(actual, predicted, count)`` for every off-diagonal cell with at least ``min_count``."""
        cm = self.confusion_matrix()
        cells = [
            (self.classes[i], self.classes[j], int(cm[i, j]))
            for i in range(len(cm))
            for j in range(len(cm))
            if i != j and cm[i, j] >= min_count
        ]
        return sorted(cells, key=lambda c: -c[2])

    def plot_confusion_matrix(
        self, path: str, normalize: bool = False, title: str = "Confusion matrix"
    ) -> str:
        """PNG of the confusion matrix, each cell labelled with its count (or fraction)."""
        plt = pyplot()
        cm = self.confusion_matrix().astype(np.float64)
        if normalize:
            cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        n = len(cm)
        fig, ax = plt.subplots(figsize=(1 + 0.5 * n, 1 + 0.5 * n))
        ax.imshow(cm, cmap="Blues")
        ticks = list(range(n))
        ax.set_xticks(ticks, [str(c) for c in self.classes], rotation=90 if n > 12 else 0)
        ax.set_yticks(ticks, [str(c) for c in self.classes])
        threshold = cm.max() / 2 if cm.size else 0
        for i in range(n):
            for j in range(n):
                text = f"{cm[i, j]:.2f}" if normalize else str(int(cm[i, j]))
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if cm[i, j] > threshold else "black",
                )
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(title)
        fig.tight_layout()
        return save_figure(fig, path)
