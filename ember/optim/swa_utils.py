"""Weight averaging (``torch.optim.swa_utils``): stochastic weight averaging and EMA models.

``AveragedModel`` keeps a copy of a model whose parameters are the running average (SWA, the
default) or an exponential moving average (``multi_avg_fn=get_ema_multi_avg_fn(decay)``) of the
model's parameters at each ``update_parameters`` call; ``SWALR`` anneals each group's learning
rate to a constant ``swa_lr``; ``update_bn`` recomputes batch-norm statistics for the averaged
weights with one pass over the data.

>>> import ember
>>> model = ember.nn.Linear(2, 1)
>>> swa = AveragedModel(model)
>>> with ember.no_grad():
...     _ = model.weight.fill_(1.0)
>>> swa.update_parameters(model)
>>> with ember.no_grad():
...     _ = model.weight.fill_(3.0)
>>> swa.update_parameters(model)
>>> swa.module.weight
Parameter containing:
tensor([[2., 2.]], requires_grad=True)
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable

import ember
from ember.nn.modules.module import Module
from ember.nn.modules.normalization import _BatchNorm
from ember.optim.lr_scheduler.base import LRScheduler
from ember.optim.optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """``averaged <- decay * averaged + (1 - decay) * current``, in place over lists of tensors."""

    @ember.no_grad()
    def ema_update(averaged: list, current: list, num_averaged) -> None:
        for avg, cur in zip(averaged, current):
            avg.lerp_(cur.to(avg.dtype), 1.0 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """``averaged <- averaged + (current - averaged) / (n + 1)``, in place over lists of tensors."""

    @ember.no_grad()
    def swa_update(averaged: list, current: list, num_averaged) -> None:
        count = float(num_averaged) + 1.0
        for avg, cur in zip(averaged, current):
            avg.add_((cur.to(avg.dtype) - avg) / count)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """One tensor's EMA update, returning the new average."""

    @ember.no_grad()
    def ema_update(averaged, current, num_averaged):
        return decay * averaged + (1.0 - decay) * current

    return ema_update


def get_swa_avg_fn() -> Callable:
    """One tensor's running-mean update, returning the new average."""

    @ember.no_grad()
    def swa_update(averaged, current, num_averaged):
        return averaged + (current - averaged) / (float(num_averaged) + 1.0)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` holding averaged parameters; calling it runs the copy.

    Args:
        model: the model to average (deep-copied; later updates read its current weights).
        device: where the copy lives (default: where ``model`` is).
        avg_fn: ``(averaged, current, num_averaged) -> new averaged`` for one tensor.
        multi_avg_fn: the same, in place over lists of tensors (``get_ema_multi_avg_fn``).
        use_buffers: average the buffers too (otherwise they are copied from ``model``).
    """

    def __init__(
        self,
        model: Module,
        device=None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")  # PyTorch's type
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", ember.tensor(0, dtype=ember.long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged_tensors(self, model: Module) -> tuple[list, list]:
        ours = self.module.parameters()
        theirs = model.parameters()
        if self.use_buffers:
            ours = itertools.chain(ours, self.module.buffers())
            theirs = itertools.chain(theirs, model.buffers())
        return [t.detach() for t in ours], [t.detach() for t in theirs]

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average."""
        averaged, current = self._averaged_tensors(model)
        current = [c.to(a.device) for a, c in zip(averaged, current)]
        with ember.no_grad():
            if int(self.n_averaged) == 0:
                for avg, cur in zip(averaged, current):
                    avg.copy_(cur)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn(averaged, current, self.n_averaged)
            elif self.avg_fn is not None:
                for avg, cur in zip(averaged, current):
                    avg.copy_(self.avg_fn(avg, cur, self.n_averaged))
            else:
                get_swa_multi_avg_fn()(averaged, current, self.n_averaged)
            if not self.use_buffers:  # keep batch-norm statistics those of the live model
                for ours, theirs in zip(self.module.buffers(), model.buffers()):
                    ours.detach().copy_(theirs.detach().to(ours.device))
            self.n_averaged += 1


@ember.no_grad()
def update_bn(loader: Iterable, model: Module, device=None) -> None:
    """Recompute the running statistics of every batch-norm layer of ``model`` with one pass over
    ``loader`` (its batches, or the first element of each batch tuple)."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None  # a cumulative average over the pass
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


def _cosine(t: float) -> float:
    return (1 - math.cos(math.pi * t)) / 2


def _linear(t: float) -> float:
    return t


class SWALR(LRScheduler):
    """Anneal each group's learning rate from its current value to ``swa_lr`` over
    ``anneal_epochs`` steps (cosine or linear), then hold it there.

    Args:
        optimizer: the wrapped optimizer.
        swa_lr: the final rate, one for all groups or one per group.
        anneal_epochs: steps of the anneal (0: jump to ``swa_lr``).
        anneal_strategy: ``"cos"`` or ``"linear"``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        rates = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(optimizer.param_groups)
        if len(rates) != len(optimizer.param_groups):
            raise ValueError(
                f"swa_lr must have the same length as optimizer.param_groups: swa_lr has {len(rates)}, "
                f"optimizer.param_groups has {len(optimizer.param_groups)}"
            )
        for group, rate in zip(optimizer.param_groups, rates):
            group["swa_lr"] = rate
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_func = _cosine if anneal_strategy == "cos" else _linear
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _start_rate(lr: float, swa_lr: float, alpha: float) -> float:
        """The rate the anneal started from, given the rate ``lr`` reached at fraction ``alpha``."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        previous_alpha = self.anneal_func(max(0.0, min(1.0, (step - 1) / span)))
        alpha = self.anneal_func(max(0.0, min(1.0, step / span)))
        rates = []
        for group in self.optimizer.param_groups:
            start = self._start_rate(group["lr"], group["swa_lr"], previous_alpha)
            rates.append(group["swa_lr"] * alpha + start * (1 - alpha))
        return rates
