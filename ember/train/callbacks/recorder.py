"""``Recorder``: the history of a fit, per step and per epoch, and its plots."""

from __future__ import annotations

import os
import time

import ember
from ember.train.callbacks.core import Callback
from ember.train.metrics import compute_metrics
from ember.train.plotting import pyplot, save_figure

__all__ = ["Recorder"]

_NAN = ember.tensor(float("nan"))


def _momentum(group: dict) -> float | None:
    if "betas" in group:
        return float(group["betas"][0])
    return float(group["momentum"]) if "momentum" in group else None


class Recorder(Callback):
    """Keeps ``losses``, ``lrs``, ``moms`` and ``times`` per training step and ``epochs`` (one dict
    per epoch: ``epoch``, ``train_loss``, ``valid_loss``, each metric, ``time``).

    Step losses stay tensors until the epoch ends (or someone asks), so the loop never waits
    for a device to report a number.
    """

    order = -50

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.moms: list[float | None] = []
        self.times: list[float] = []
        self.epochs: list[dict] = []
        self._pending: list = []
        self._epoch_first_step: int | None = None  # set while an epoch is open

    # -- events --------------------------------------------------------------------------
    def before_fit(self) -> None:
        self.__init__()

    def before_epoch(self) -> None:
        self._epoch_start = time.perf_counter()
        if self._epoch_first_step is None:  # else a resume reopened this epoch
            self._epoch_first_step = len(self.losses) + len(self._pending)

    def before_batch(self) -> None:
        if self.learn.training:
            group = self.learn.opt.param_groups[-1]
            self.lrs.append(float(group["lr"]))
            self.moms.append(_momentum(group))
            self._step_start = time.perf_counter()

    def before_validate(self) -> None:
        self._valid_preds, self._valid_targets = [], []

    def after_batch(self) -> None:
        learn = self.learn
        if learn.training:
            self._pending.append(_NAN if learn.loss is None else learn.loss)  # None: cancelled
            self.times.append(time.perf_counter() - self._step_start)
        elif learn.yb and learn.pred is not None:
            self._valid_preds.append(learn.pred.detach())
            self._valid_targets.append(learn.yb[0])

    def after_validate(self) -> None:
        if not self._valid_preds:
            self._valid = {}
            return
        pred, target = ember.cat(self._valid_preds), ember.cat(self._valid_targets)
        self._valid_preds = self._valid_targets = []
        self._valid = {"valid_loss": float(self.learn.loss_func(pred, target))}
        self._valid.update(compute_metrics(self.learn.metrics, pred, target))

    def after_epoch(self) -> None:
        self.flush()
        steps = self.losses[self._epoch_first_step :]
        record = {"epoch": self.learn.epoch, "train_loss": sum(steps) / len(steps) if steps else float("nan")}
        record.update(getattr(self, "_valid", {}))
        record["time"] = time.perf_counter() - self._epoch_start
        self._valid, self._epoch_first_step = {}, None
        self.epochs.append(record)

    # -- reading ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Turn the step losses still held as tensors into floats."""
        if self._pending:
            self.losses.extend(ember.stack(self._pending).float().tolist())
            self._pending = []

    def running_loss(self, last: int = 50) -> float:
        """The mean loss of the last ``last`` steps."""
        self.flush()
        recent = self.losses[-last:]
        return sum(recent) / len(recent) if recent else float("nan")

    @property
    def metric_names(self) -> list[str]:
        """The keys of the epoch records, in order."""
        names: list[str] = []
        for record in self.epochs:
            names += [k for k in record if k not in names]
        return names

    def state_dict(self) -> dict:
        self.flush()
        return {
            "losses": self.losses,
            "lrs": self.lrs,
            "moms": self.moms,
            "times": self.times,
            "epochs": self.epochs,
            "epoch_first_step": self._epoch_first_step,
        }

    def load_state_dict(self, state: dict) -> None:
        self.losses, self.lrs = list(state["losses"]), list(state["lrs"])
        self.moms, self.times = list(state["moms"]), list(state["times"])
        self.epochs = [dict(r) for r in state["epochs"]]
        self._pending = []
        self._epoch_first_step = state["epoch_first_step"]

    # -- plots ---------------------------------------------------------------------------
    def _target(self, path, default: str) -> str:
        return path if path is not None else os.path.join(self.learn.path, default)

    def plot_loss(self, path: str | None = None, skip_start: int = 0, window: int = 20) -> str | None:
        """PNG of the training loss per step (raw and smoothed) and the validation loss per epoch."""
        if self.learn.rank != 0:
            return None
        self.flush()
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        steps = list(range(skip_start + 1, len(self.losses) + 1))
        losses = self.losses[skip_start:]
        smooth = [
            sum(losses[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1))
            for i in range(len(losses))
        ]
        ax.plot(steps, losses, color="tab:blue", alpha=0.3, label="train loss per step")
        ax.plot(steps, smooth, color="tab:blue", label=f"mean of the last {window} steps")
        valid = [(r, r["valid_loss"]) for r in self.epochs if "valid_loss" in r]
        if valid and self.epochs:
            per_epoch = len(self.losses) / max(1, len(self.epochs))
            ax.plot(
                [(i + 1) * per_epoch for i in range(len(valid))],
                [v for _, v in valid],
                "o-",
                color="tab:orange",
                label="validation loss",
            )
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
        fig.tight_layout()
        return save_figure(fig, self._target(path, "loss.png"))

    def plot_lr(self, path: str | None = None) -> str | None:
        """PNG of the learning rate (and momentum, when there is one) per step."""
        if self.learn.rank != 0:
            return None
        plt = pyplot()
        with_mom = any(m is not None for m in self.moms)
        fig, axes = plt.subplots(1, 2 if with_mom else 1, figsize=(10 if with_mom else 6, 4))
        axes = list(axes) if with_mom else [axes]
        axes[0].plot(range(1, len(self.lrs) + 1), self.lrs)
        axes[0].set_xlabel("step")
        axes[0].set_ylabel("learning rate")
        if with_mom:
            axes[1].plot(range(1, len(self.moms) + 1), self.moms, color="tab:green")
            axes[1].set_xlabel("step")
            axes[1].set_ylabel("momentum")
        fig.tight_layout()
        return save_figure(fig, self._target(path, "lr.png"))

    def plot_metrics(self, path: str | None = None) -> str | None:
        """PNG of every per-epoch value, one panel each."""
        if self.learn.rank != 0:
            return None
        plt = pyplot()
        names = [n for n in self.metric_names if n not in ("epoch", "time")]
        fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4 * max(1, len(names)), 3.5), squeeze=False)
        epochs = [r["epoch"] + 1 for r in self.epochs]
        for ax, name in zip(axes[0], names):
            ax.plot(epochs, [r.get(name, float("nan")) for r in self.epochs], "o-")
            ax.set_title(name)
            ax.set_xlabel("epoch")
        fig.tight_layout()
        return save_figure(fig, self._target(path, "metrics.png"))
