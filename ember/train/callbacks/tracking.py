"""Callbacks that watch a per-epoch value: ``EarlyStopping``, ``SaveModel``, ``ReduceLROnPlateau``."""

from __future__ import annotations

import math

from ember.optim import lr_scheduler
from ember.train.callbacks.core import Callback, CancelFitException

__all__ = ["EarlyStopping", "ReduceLROnPlateau", "SaveModel", "TrackerCallback"]

_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse")


class TrackerCallback(Callback):
    """Reads ``monitor`` from the recorder's last epoch and keeps the best value.

    ``mode`` is ``'min'``, ``'max'`` or ``'auto'`` (min for names with loss, error, mse, mae
    or rmse in them, max otherwise); a value counts as better only by more than ``min_delta``.
    """

    order = 50  # after the Recorder wrote the epoch's values

    def __init__(self, monitor: str = "valid_loss", mode: str = "auto", min_delta: float = 0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}: mode should be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "min" if any(word in monitor for word in _LOWER_IS_BETTER) else "max"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def before_fit(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def current(self) -> float:
        epochs = self.learn.recorder.epochs
        if not epochs or self.monitor not in epochs[-1]:
            have = sorted(epochs[-1]) if epochs else []
            raise KeyError(
                f"{type(self).__name__}: no value {self.monitor!r} this epoch; the recorder has {have}"
            )
        return float(epochs[-1][self.monitor])

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best so far (and, if so, make it the best)."""
        better = (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best = value
        return better

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


class EarlyStopping(TrackerCallback):
    """Stops the fit when ``monitor`` has not improved for ``patience`` epochs."""

    def __init__(
        self, monitor: str = "valid_loss", patience: int = 1, min_delta: float = 0.0, mode: str = "auto"
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience, self.wait = patience, 0

    def before_fit(self) -> None:
        super().before_fit()
        self.wait = 0

    def after_epoch(self) -> None:
        if self.improved(self.current()):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = self.learn.epoch
            raise CancelFitException

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.wait = state["best"], state["wait"]


class SaveModel(TrackerCallback):
    """Saves the model whenever ``monitor`` improves (``fname``) and loads the best at the end;
    with ``every_epoch=True`` saves ``fname_<epoch>`` after every epoch instead."""

    def __init__(
        self,
        monitor: str = "valid_loss",
        every_epoch: bool = False,
        fname: str = "model",
        mode: str = "auto",
        min_delta: float = 0.0,
        with_opt: bool = False,
        load_best: bool = True,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.every_epoch, self.fname, self.with_opt = every_epoch, fname, with_opt
        self.load_best = load_best
        self.saved: str | None = None

    def after_epoch(self) -> None:
        if self.every_epoch:
            self.saved = self.learn.save(f"{self.fname}_{self.learn.epoch}", with_opt=self.with_opt)
        elif self.improved(self.current()):
            self.saved = self.learn.save(self.fname, with_opt=self.with_opt)

    def after_fit(self) -> None:
        if not self.every_epoch and self.load_best and self.saved is not None:
            self.learn.load(self.fname, with_opt=self.with_opt)


class ReduceLROnPlateau(TrackerCallback):
    """Multiplies the learning rates by ``factor`` when ``monitor`` stalls for ``patience`` epochs
    (``ember.optim.lr_scheduler.ReduceLROnPlateau`` stepped after every epoch)."""

    def __init__(
        self,
        monitor: str = "valid_loss",
        patience: int = 1,
        factor: float = 0.1,
        min_delta: float = 0.0,
        min_lr: float = 0.0,
        mode: str = "auto",
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience, self.factor, self.min_lr = patience, factor, min_lr
        self.scheduler = None

    def before_fit(self) -> None:
        super().before_fit()
        self.scheduler = lr_scheduler.ReduceLROnPlateau(
            self.learn.opt,
            mode=self.mode,
            factor=self.factor,
            patience=self.patience,
            threshold=self.min_delta,
            threshold_mode="abs",
            min_lr=self.min_lr,
        )

    def after_epoch(self) -> None:
        self.scheduler.step(self.current())

    def state_dict(self) -> dict:
        return {} if self.scheduler is None else {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
