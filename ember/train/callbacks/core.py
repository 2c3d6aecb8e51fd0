"""The callback protocol: the events of the loop, ``Callback`` and the cancel exceptions."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["EVENTS", "Callback", "CancelBatchException", "CancelEpochException", "CancelFitException"]

EVENTS = (
    "before_fit",
    "before_epoch",
    "before_train",
    "before_batch",
    "after_pred",
    "after_loss",
    "before_backward",
    "after_backward",
    "before_step",
    "after_step",
    "after_batch",
    "after_train",
    "before_validate",
    "after_validate",
    "after_epoch",
    "after_fit",
)


class CancelBatchException(Exception):
    """Raised by a callback: skip the rest of this batch (``after_batch`` still runs)."""


class CancelEpochException(Exception):
    """Raised by a callback: skip the rest of this epoch (``after_epoch`` still runs)."""


class CancelFitException(Exception):
    """Raised by a callback: stop training (``after_fit`` still runs)."""


class Callback:
    """Base class: define methods named after events; each reads and changes ``self.learn``.

    Callbacks run in increasing ``order`` (ties keep the order they were added in). State a
    callback needs to survive an exact resume comes from ``state_dict()`` and goes back through
    ``load_state_dict()``; both must be what ``ember.save`` can hold (tensors, numbers, strings,
    lists and dicts). ``run_on_all_ranks = False`` callbacks (printing, logging, writing files)
    run on rank 0 only when training on several processes.

    >>> class CountBatches(Callback):
    ...     def before_fit(self): self.count = 0
    ...     def after_batch(self): self.count += 1
    >>> CountBatches().name
    'count_batches'
    """

    order: int = 0
    run_on_all_ranks: bool = True
    learn: Any = None

    @property
    def name(self) -> str:
        """The snake-case class name, without a trailing ``_callback``: the learner's key for it."""
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        return snake.removesuffix("_callback")

    def state_dict(self) -> dict:
        """What an exact resume must restore (empty by default)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
