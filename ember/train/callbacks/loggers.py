"""Callbacks that log a fit: ``CSVLogger`` (one row per epoch) and ``TensorBoard``."""

from __future__ import annotations

import csv
import io
import os

from ember.serialization.atomic import atomic_write
from ember.train.callbacks.core import Callback

__all__ = ["CSVLogger", "TensorBoard"]


class CSVLogger(Callback):
    """Writes the recorder's epoch records to ``path`` (relative to ``learn.path``) after every
    epoch; the file is rewritten atomically, so it is always complete. With ``append=True`` the
    rows of earlier fits already in the file are kept."""

    order = 60
    run_on_all_ranks = False

    def __init__(self, path: str = "history.csv", append: bool = False) -> None:
        self.path, self.append = path, append
        self._earlier: list[dict] = []

    def _file(self) -> str:
        return self.path if os.path.isabs(self.path) else os.path.join(self.learn.path, self.path)

    def before_fit(self) -> None:
        self._earlier = []
        if self.append and os.path.exists(self._file()):
            with open(self._file(), newline="") as f:
                self._earlier = list(csv.DictReader(f))

    def after_epoch(self) -> None:
        rows = self._earlier + [{k: v for k, v in r.items()} for r in self.learn.recorder.epochs]
        names: list[str] = []
        for row in rows:
            names += [k for k in row if k not in names]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (row[k] + 1 if k == "epoch" and isinstance(row[k], int) else row[k]) for k in row}
            )
        os.makedirs(os.path.dirname(self._file()) or ".", exist_ok=True)
        with atomic_write(self._file()) as out:
            out.write(text.getvalue().encode())


class TensorBoard(Callback):
    """Logs to TensorBoard: per step ``train/loss``, ``train/lr`` (and ``train/momentum``), per
    epoch every recorder value under ``epoch/``. Step values are written once per epoch, from
    the recorder, so that logging never waits for the device inside the loop.

    ``histograms=True`` also logs each parameter's histogram at every epoch's end.
    """

    order = 60
    run_on_all_ranks = False

    def __init__(self, log_dir: str | None = None, histograms: bool = False) -> None:
        self.log_dir, self.histograms = log_dir, histograms
        self.writer = None

    def before_fit(self) -> None:
        from ember.utils.tensorboard import SummaryWriter

        log_dir = self.log_dir or os.path.join(self.learn.path, "tensorboard")
        self.writer = SummaryWriter(log_dir)
        self._logged_steps = len(self.learn.recorder.losses)

    def after_epoch(self) -> None:
        rec, w = self.learn.recorder, self.writer
        rec.flush()
        start = min(self._logged_steps, len(rec.losses))
        for step in range(start, len(rec.losses)):
            w.add_scalar("train/loss", rec.losses[step], step + 1)
            w.add_scalar("train/lr", rec.lrs[step], step + 1)
            if rec.moms[step] is not None:
                w.add_scalar("train/momentum", rec.moms[step], step + 1)
        self._logged_steps = len(rec.losses)
        if rec.epochs:
            record = rec.epochs[-1]
            for name, value in record.items():
                if name != "epoch" and isinstance(value, (int, float)):
                    w.add_scalar(f"epoch/{name}", value, record["epoch"] + 1)
        if self.histograms:
            for name, p in self.learn.model.named_parameters():
                w.add_histogram(name, p, self.learn.epoch + 1)
        w.flush()

    def after_fit(self) -> None:
        if self.writer is not None:
            self.writer.close()
