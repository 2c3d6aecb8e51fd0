"""Learning-rate schedules as callbacks: the one-cycle policy and the learning-rate finder."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ember.optim.lr_scheduler import OneCycleLR
from ember.train.callbacks.core import Callback, CancelFitException

__all__ = ["LRFinder", "OneCycleSchedule", "Suggestions"]


class OneCycleSchedule(Callback):
    """Builds ``OneCycleLR`` over the whole fit and steps it after every optimizer step."""

    order = -20

    def __init__(
        self,
        max_lr,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
    ) -> None:
        self.max_lr, self.div, self.div_final = max_lr, div, div_final
        self.pct_start, self.moms = pct_start, moms
        self.scheduler: OneCycleLR | None = None

    def before_fit(self) -> None:
        learn = self.learn
        max_lr = list(self.max_lr) if isinstance(self.max_lr, (list, tuple)) else self.max_lr
        groups = learn.opt.param_groups
        cycle_momentum = "momentum" in groups[0] or "betas" in groups[0]
        if "momentum" in groups[0] and groups[0]["momentum"] == 0:
            cycle_momentum = False  # plain SGD: nothing to cycle
        self.scheduler = OneCycleLR(
            learn.opt,
            max_lr=max_lr,
            total_steps=max(1, learn.n_epoch * len(learn.train_loader)),
            pct_start=float(self.pct_start),
            div_factor=self.div,
            final_div_factor=self.div_final / self.div,
            cycle_momentum=cycle_momentum,
            base_momentum=self.moms[1],
            max_momentum=self.moms[0],
        )

    def after_step(self) -> None:
        if self.scheduler.last_epoch < self.scheduler.total_steps:
            self.scheduler.step()

    def state_dict(self) -> dict:
        return {} if self.scheduler is None else {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])


@dataclass
class Suggestions:
    """Learning rates suggested by ``lr_find``: ``valley`` (fastai's default: halfway along the
    longest descent of the loss), ``steep`` (the steepest descent against log lr), ``minimum``
    (a tenth of the rate at the lowest loss)."""

    valley: float
    steep: float
    minimum: float
    lrs: list = field(default_factory=list, repr=False)
    losses: list = field(default_factory=list, repr=False)

    def plot(self, path: str) -> str:
        """PNG of the smoothed loss against the learning rate (log scale), suggestions marked."""
        from ember.train.plotting import pyplot, save_figure

        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.losses)
        ax.set_xscale("log")
        for name, value, color in (
            ("valley", self.valley, "tab:red"),
            ("steep", self.steep, "tab:green"),
            ("minimum", self.minimum, "tab:purple"),
        ):
            ax.axvline(value, color=color, linestyle="--", label=f"{name} {value:.2e}")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        ax.legend()
        fig.tight_layout()
        return save_figure(fig, path)


def _longest_descent(losses: list[float]) -> tuple[int, int]:
    """``(end, length)`` of the longest strictly decreasing subsequence of ``losses``."""
    length = [1] * len(losses)
    for i in range(len(losses)):
        for j in range(i):
            if losses[j] > losses[i] and length[j] + 1 > length[i]:
                length[i] = length[j] + 1
    end = max(range(len(losses)), key=lambda i: (length[i], -i))
    return end, length[end]


def suggest(lrs: list[float], losses: list[float]) -> Suggestions:
    """The three suggestions for a smoothed loss curve."""
    if len(lrs) < 3:
        lr = lrs[0] if lrs else float("nan")
        return Suggestions(lr, lr, lr, list(lrs), list(losses))
    # the valley: halfway along the longest descent, measured back from where it ends (as fastai
    # does), so that a few noisy points on the flat start do not drag it to tiny rates
    end, length = _longest_descent(losses)
    valley = lrs[max(0, end - length // 2)]
    logs = [math.log(lr) for lr in lrs]
    slopes = [(losses[i + 1] - losses[i - 1]) / (logs[i + 1] - logs[i - 1]) for i in range(1, len(lrs) - 1)]
    steep = lrs[1 + min(range(len(slopes)), key=slopes.__getitem__)]
    minimum = lrs[min(range(len(losses)), key=losses.__getitem__)] / 10
    return Suggestions(valley, steep, minimum, list(lrs), list(losses))


class LRFinder(Callback):
    """Raises the learning rate exponentially from ``start_lr`` to ``end_lr`` over ``num_it``
    steps, recording the smoothed loss; stops early when the loss diverges."""

    order = -20
    beta = 0.98  # smoothing of the recorded loss

    def __init__(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_it: int = 100,
        stop_div: bool = True,
        skip_end: int = 5,
    ) -> None:
        if not 0 < start_lr < end_lr:
            raise ValueError(f"LRFinder: need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
        self.start_lr, self.end_lr, self.num_it = start_lr, end_lr, num_it
        self.stop_div, self.skip_end = stop_div, skip_end
        self.lrs: list[float] = []
        self.losses: list[float] = []

    def _lr_at(self, i: int) -> float:
        return self.start_lr * (self.end_lr / self.start_lr) ** (i / max(1, self.num_it - 1))

    def before_fit(self) -> None:
        self.lrs, self.losses, self._avg, self._best, self._i = [], [], 0.0, math.inf, 0
        self.learn.set_lr(self._lr_at(0))

    def after_batch(self) -> None:
        if not self.learn.training:
            return
        loss = float(self.learn.loss)
        self._i += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        smooth = self._avg / (1 - self.beta**self._i)
        self.lrs.append(self._lr_at(self._i - 1))
        self.losses.append(smooth)
        self._best = min(self._best, smooth)
        diverged = self.stop_div and (not math.isfinite(smooth) or smooth > 4 * self._best)
        if self._i >= self.num_it or diverged:
            raise CancelFitException
        self.learn.set_lr(self._lr_at(self._i))

    def suggestions(self) -> Suggestions:
        keep = max(3, len(self.lrs) - self.skip_end)
        lrs, losses = self.lrs[:keep], self.losses[:keep]
        finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
        return suggest([lrs[i] for i in finite], [losses[i] for i in finite])
