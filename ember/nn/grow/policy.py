"""``GrowOnPlateau``: widen layers when the validation loss stops improving.

A plain object that a training loop calls once per epoch, so that it works in a hand-written
loop as well as behind a Learner callback (which only has to forward its event to ``step``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ember.nn.grow.plan import width_of
from ember.nn.grow.report import GrowthReport
from ember.nn.grow.widen import widen_
from ember.nn.modules.module import Module

__all__ = ["GrowOnPlateau"]


class GrowOnPlateau:
    """Widen ``layers`` by ``factor`` after ``patience`` epochs without improvement.

    Args:
        layers: layer names to widen; an entry that is a list names tied layers grown together.
        factor: each growth multiplies the width by this (rounded up), capped at ``max_width``.
        max_width: the widest a layer may become (an int, or a dict from layer name to int);
            growth stops when every layer is there.
        patience: epochs without improvement to tolerate; the next one grows (as in
            ``ReduceLROnPlateau``).
        threshold: the relative improvement that counts (as ``ReduceLROnPlateau``'s 'rel').
        cooldown: epochs to wait after a growth before counting bad epochs again.
        example_input: what ``widen_`` traces the model with.
        optimizer: the optimizer whose state follows the growth.
        noise: passed to ``widen_``, to break the symmetry between copies.

    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    >>> policy = GrowOnPlateau(["0"], max_width=16, patience=1, example_input=ember.randn(3, 2))
    >>> [policy.step(loss, net) is not None for loss in (1.0, 1.0, 1.0)]
    [False, False, True]
    >>> net[0].out_features
    8
    """

    def __init__(
        self,
        layers: Sequence[str | Sequence[str]],
        factor: float = 2,
        max_width: int | dict[str, int] = 1024,
        patience: int = 3,
        *,
        example_input,
        optimizer=None,
        threshold: float = 1e-3,
        cooldown: int = 0,
        noise: float = 0.0,
    ) -> None:
        if factor <= 1:
            raise ValueError(f"GrowOnPlateau: factor must be > 1, got {factor}")
        if patience < 0:
            raise ValueError(f"GrowOnPlateau: patience must be >= 0, got {patience}")
        self.layers = [layer if isinstance(layer, str) else list(layer) for layer in layers]
        self.factor, self.max_width, self.patience = factor, max_width, patience
        self.threshold, self.cooldown, self.noise = threshold, cooldown, noise
        self.example_input, self.optimizer = example_input, optimizer
        self.best = math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.history: list[GrowthReport] = []
        #: the width each grown entry reached (first name of the entry -> width): what a resumed
        #: run must widen a freshly built model to before loading a checkpoint into it
        self.widths: dict[str, int] = {}

    def is_better(self, loss: float) -> bool:
        return loss < self.best * (1 - self.threshold) if self.best != math.inf else True

    def step(self, val_loss: float, model: Module) -> GrowthReport | None:
        """Record this epoch's validation loss; grow (and return the last report) on a plateau."""
        val_loss = float(val_loss)
        if self.is_better(val_loss):
            self.best, self.num_bad_epochs = val_loss, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs <= self.patience:
            return None
        report = self.grow(model)
        self.num_bad_epochs = 0
        self.cooldown_counter = self.cooldown
        return report

    def grow(self, model: Module) -> GrowthReport | None:
        """Widen every layer not yet at ``max_width``; the last report, or None if none grew."""
        report = None
        for layer in self.layers:
            first = layer if isinstance(layer, str) else layer[0]
            width = width_of(model.get_submodule(first))
            cap = self.max_width
            cap = cap.get(first, width) if isinstance(cap, dict) else cap
            target = min(cap, math.ceil(width * self.factor))
            if target <= width:
                continue
            report = widen_(
                model,
                layer,
                target,
                example_input=self.example_input,
                optimizer=self.optimizer,
                noise=self.noise,
            )
            self.history.append(report)
            self.widths[first] = target
        return report

    def state_dict(self) -> dict:
        return {
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
            "widths": dict(self.widths),
        }

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]
        self.num_bad_epochs = state["num_bad_epochs"]
        self.cooldown_counter = state["cooldown_counter"]
        self.widths = dict(state.get("widths", {}))
