"""``ProgressBar``: an epoch bar, a batch bar with the running loss, and a line per epoch."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ember.train.callbacks.core import Callback

__all__ = ["ProgressBar"]

_REFRESH_S = 0.2  # how often the running loss is read (reading it may wait for the device)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class ProgressBar(Callback):
    """tqdm bars while training and one printed line of results per epoch.

    Args:
        bars: show the bars; ``None`` shows them only when ``file`` is a terminal.
        table: print the per-epoch line (epoch, losses, metrics, time).
        file: where to write (``sys.stdout`` by default).

    Missing tqdm only hides the bars. Use ``learn.no_bar()`` or ``Learner(progress=False)`` to
    silence everything.
    """

    order = 60
    run_on_all_ranks = False

    def __init__(self, bars: bool | None = None, table: bool = True, file: TextIO | None = None):
        self.bars, self.table, self.file = bars, table, file

    def _out(self) -> TextIO:
        return self.file if self.file is not None else sys.stdout

    def _tqdm(self):
        show = self.bars if self.bars is not None else self._out().isatty()
        if not show:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm

    def before_fit(self) -> None:
        self._bar_class = self._tqdm()
        self.epoch_bar = self.batch_bar = None
        self._header_done = False
        if self._bar_class is not None:
            self.epoch_bar = self._bar_class(
                total=self.learn.n_epoch, desc="epochs", unit="epoch", file=self._out(), dynamic_ncols=True
            )

    def before_epoch(self) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.n = self.learn.epoch
            self.epoch_bar.refresh()

    def before_train(self) -> None:
        self._open_batch_bar(f"epoch {self.learn.epoch + 1}/{self.learn.n_epoch}")

    def before_validate(self) -> None:
        self._open_batch_bar("validating")

    def _open_batch_bar(self, desc: str) -> None:
        self._close_batch_bar()
        if self._bar_class is not None:
            self.batch_bar = self._bar_class(
                total=len(self.learn.dl),
                desc=desc,
                unit="batch",
                leave=False,
                file=self._out(),
                dynamic_ncols=True,
            )
            self._last_refresh = 0.0

    def after_batch(self) -> None:
        bar = self.batch_bar
        if bar is None:
            return
        bar.update(1)
        now = time.monotonic()
        if self.learn.training and now - self._last_refresh > _REFRESH_S:
            self._last_refresh = now
            bar.set_postfix_str(f"loss {self.learn.recorder.running_loss():.4f}", refresh=False)

    def after_train(self) -> None:
        self._close_batch_bar()

    def after_validate(self) -> None:
        self._close_batch_bar()

    def _close_batch_bar(self) -> None:
        if self.batch_bar is not None:
            self.batch_bar.close()
            self.batch_bar = None

    def after_epoch(self) -> None:
        self._close_batch_bar()
        if self.epoch_bar is not None:
            self.epoch_bar.update(1)
        if self.table and self.learn.recorder.epochs:
            self._write(self.learn.recorder.epochs[-1])

    def _write(self, record: dict) -> None:
        names = [k for k in record if k != "epoch"]
        if not self._header_done:
            self._line("epoch  " + "  ".join(f"{n:>10}" for n in names))
            self._header_done = True
        cells = [f"{record[n]:>9.1f}s" if n == "time" else f"{_fmt(record[n]):>10}" for n in names]
        self._line(f"{record['epoch'] + 1:>5}  " + "  ".join(cells))

    def _line(self, text: str) -> None:
        if self._bar_class is not None:
            self._bar_class.write(text, file=self._out())
        else:
            print(text, file=self._out(), flush=True)

    def after_fit(self) -> None:
        self._close_batch_bar()
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None
