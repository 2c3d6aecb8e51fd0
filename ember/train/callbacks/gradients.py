"""Callbacks on gradients: ``GradientClip`` and ``GradientAccumulation``."""

from __future__ import annotations

from ember.nn.utils import clip_grad_norm_
from ember.train.callbacks.core import Callback, CancelBatchException

__all__ = ["GradientAccumulation", "GradientClip"]


class GradientClip(Callback):
    """Rescales the gradients before each step so that their total norm is at most ``max_norm``."""

    order = 10  # after GradientAccumulation and MixedPrecision's unscaling

    def __init__(self, max_norm: float = 1.0, norm_type: float = 2.0) -> None:
        self.max_norm, self.norm_type = max_norm, norm_type

    def before_step(self) -> None:
        params = [p for g in self.learn.opt.param_groups for p in g["params"] if p.grad is not None]
        if params:
            clip_grad_norm_(params, self.max_norm, self.norm_type)


class GradientAccumulation(Callback):
    """Steps the optimizer every ``n_steps`` batches, on the mean gradient of those batches.

    The loss is divided by ``n_steps`` before ``backward``; the batches in between skip the
    step (and the zeroing of gradients) by cancelling. Recorded losses stay unscaled.
    """

    order = -10

    def __init__(self, n_steps: int = 2) -> None:
        if not isinstance(n_steps, int) or n_steps < 1:
            raise ValueError(f"GradientAccumulation: n_steps should be a positive int, got {n_steps!r}")
        self.n_steps, self.count = n_steps, 0

    def before_fit(self) -> None:
        self.count = 0

    def before_backward(self) -> None:
        self.learn.loss_grad = self.learn.loss_grad / self.n_steps

    def after_backward(self) -> None:
        self.count += 1

    def before_step(self) -> None:
        if self.count % self.n_steps:
            raise CancelBatchException

    def state_dict(self) -> dict:
        return {"count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.count = state["count"]
