"""``LRScheduler``: the base of the learning-rate schedulers.

A scheduler sets ``group['lr']`` of every parameter group of its optimizer. ``step()`` moves
the schedule on by one epoch (or one batch, depending on how it is used); ``get_lr()`` is
the *chainable* form, computing the new rates from the current ones, so that several
schedulers may act on one optimizer; ``_closed_form_lr()`` (where a schedule has one) gives
the rate of an arbitrary epoch, used by the deprecated ``step(epoch)``.
"""

from __future__ import annotations

import warnings
from typing import Any

from ember.autograd.grad_mode import no_grad
from ember.optim.optimizer import Optimizer
from ember.tensor import Tensor

__all__ = ["LRScheduler", "group_values", "per_group"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available. Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)

ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first value "
    "of the learning rate schedule. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


def set_lr(group: dict[str, Any], lr) -> None:
    """``group["lr"] = lr``, except that a Tensor lr is filled in place, as PyTorch's schedulers
    do: a captured CUDA graph (and anyone else holding it) keeps reading the same tensor."""
    current = group.get("lr")
    if isinstance(current, Tensor):
        with no_grad():
            current.fill_(lr)
    else:
        group["lr"] = lr


def group_values(optimizer: Optimizer, key: str) -> list:
    """``group[key]`` of every parameter group, as a new list."""
    return [group[key] for group in optimizer.param_groups]


def per_group(name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a list/tuple is checked for length, a scalar repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has "
                f"{len(value)} values, param_groups has {len(optimizer.param_groups)}."
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()`` / ``load_state_dict()``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        last_epoch: the index of the last epoch when resuming; -1 starts a new schedule.
    """

    _is_initial = False
    _in_step = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "scheduler with last_epoch >= 0. Load the optimizer's state dict first, "
                        "or start a fresh schedule with last_epoch=-1."
                    )
        self.base_lrs: list[float] = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Set the learning rates of epoch ``last_epoch + 1`` (the schedule's start)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return self._last_lr

    def get_lr(self) -> list[float]:
        """The new learning rates, computed from the current ones (the chainable form)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def _warn_outside_step(self) -> None:
        if not self._in_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                UserWarning,
                stacklevel=3,
            )

    def step(self, epoch: int | None = None) -> None:
        """Move the schedule on by one epoch and write the new rates into the optimizer."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(ORDER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._in_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._in_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            set_lr(group, lr)
        self._last_lr = group_values(self.optimizer, "lr")

    # -- state -----------------------------------------------------------------------------
    _not_state: tuple[str, ...] = ("optimizer",)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (and functions), as a dict."""
        return {k: v for k, v in self.__dict__.items() if k not in self._not_state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


_LRScheduler = LRScheduler
