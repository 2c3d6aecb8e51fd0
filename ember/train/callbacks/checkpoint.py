"""``Checkpoint``: exact-resume checkpoints at epoch ends, every N steps, and on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import sys
import threading

from ember.train import checkpoint as ckpt
from ember.train.callbacks.core import Callback, CancelFitException

__all__ = ["Checkpoint"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Checkpoint(Callback):
    """Writes ``ember.train.checkpoint`` files into ``folder``; the Learner adds it when given a
    ``checkpoint_dir``.

    When the process receives SIGTERM or SIGINT during ``fit``, training stops at the next
    step boundary (after the current batch), a checkpoint is written, and the process exits
    with status 0 (``SystemExit``) after the other callbacks' ``after_fit``. A second signal
    while that happens interrupts at once. ``fit(resume=True)`` goes on from the newest file.
    """

    order = 100  # last: every other callback's state for this step is final
    run_on_all_ranks = False

    def __init__(self, folder: str, every: int | None = None) -> None:
        if every is not None and (not isinstance(every, int) or every <= 0):
            raise ValueError(f"Checkpoint: every should be a positive number of steps, got {every!r}")
        self.folder, self.every = folder, every
        self.last_path: str | None = None

    def before_fit(self) -> None:
        if not self.learn.resuming:  # a new run: older checkpoints must not look newer than its own
            ckpt.remove_checkpoints(self.folder)
        self.signalled: int | None = None
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if self.signalled is not None:  # asked twice: stop now
            self._restore_handlers()
            raise KeyboardInterrupt
        self.signalled = signum

    def _restore_handlers(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def after_batch(self) -> None:
        learn = self.learn
        if not learn.training:
            return
        due = self.every is not None and learn.train_iter % self.every == 0
        if due or self.signalled is not None:
            self.last_path = ckpt.write_checkpoint(
                learn, self.folder, learn.epoch, learn.iter + 1, learn.epoch_rng, end_of_epoch=False
            )
        if self.signalled is not None:
            raise CancelFitException

    def after_epoch(self) -> None:
        learn = self.learn
        self.last_path = ckpt.write_checkpoint(
            learn, self.folder, learn.epoch + 1, 0, None, end_of_epoch=True
        )
        if self.signalled is not None:
            raise CancelFitException

    def after_fit(self) -> None:
        self._restore_handlers()
        if self.signalled is not None:
            name = signal.Signals(self.signalled).name
            print(
                f"{name}: checkpoint written to {self.last_path}; continue with fit(..., resume=True)",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(0)
