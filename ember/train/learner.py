"""``Learner``: a small training loop whose every step is an event; everything else is a callback.

The loop (``fit`` -> epochs -> train and validate phases -> batches) only moves data, calls the
model, the loss, ``backward`` and the optimizer, and fires the events of
``ember.train.callbacks.core.EVENTS``. Progress bars, the recorder, schedules, clipping,
checkpoints and logging are callbacks that read and write the learner's attributes
(``learn.xb``, ``learn.yb``, ``learn.pred``, ``learn.loss``, ``learn.epoch``, ``learn.iter``, ...).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ember
import ember.nn.functional as F
from ember.train import checkpoint as ckpt
from ember.train import distributed
from ember.train.callbacks.core import (
    EVENTS,
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
)
from ember.train.callbacks.progress import ProgressBar
from ember.train.callbacks.recorder import Recorder
from ember.train.callbacks.schedule import LRFinder, OneCycleSchedule, Suggestions
from ember.train.metrics import compute_metrics

__all__ = ["Learner"]


def _pick_device(device) -> ember.device:
    if isinstance(device, str) and device == "auto":
        return ember.device("cuda" if ember.cuda.is_available() else "cpu")
    return ember.device(device)


def default_splitter(model: ember.nn.Module) -> list[list]:
    """Parameter groups for ``freeze``: one per top-level child that has parameters (or one)."""
    groups = [list(child.parameters()) for child in model.children()]
    groups = [g for g in groups if g]
    own = [p for name, p in model.named_parameters(recurse=False)]
    if own:
        groups.append(own)
    return groups or [list(model.parameters())]


class Learner:
    """Train ``model`` on ``train_loader``; validate on ``valid_loader`` with ``metrics``.

    Args:
        model: an ``ember.nn.Module``; it is moved to ``device``.
        train_loader / valid_loader: ``DataLoader`` s yielding ``(x, y)`` (or ``(x1, ..., y)``,
            see ``n_inp``).
        loss_func: ``loss_func(pred, *targets)``; cross-entropy by default.
        opt_func: builds the optimizer as ``opt_func(param_groups, lr=lr)``.
        lr: the learning rate ``fit`` uses when it is given none.
        metrics: functions of ``(pred, target)`` (``ember.train.metrics``) computed on the
            whole validation set each epoch.
        device: ``"auto"`` (CUDA when available), or any device.
        cbs: extra callbacks; a ``Recorder`` and a ``ProgressBar`` are always added.
        checkpoint_dir / checkpoint_every: write exact-resume checkpoints there at the end of
            each epoch, every ``checkpoint_every`` steps and at SIGTERM/SIGINT (see ``fit``).
        splitter: ``splitter(model) -> list of lists of parameters``: the groups of
            ``freeze``/``unfreeze`` (by default each top-level child is a group).
        progress: show the progress bars (they also stay quiet when stdout is not a terminal).
        path: the folder ``save``/``load`` and the plots use.

    >>> import ember
    >>> from ember.utils.data import DataLoader, TensorDataset
    >>> x = ember.randn(64, 3); y = (x.sum(1) > 0).long()
    >>> dl = DataLoader(TensorDataset(x, y), batch_size=16)
    >>> learn = Learner(ember.nn.Linear(3, 2), dl, dl, device="cpu", progress=False)
    >>> learn.fit(1, lr=0.1)
    >>> len(learn.recorder.losses)
    4
    """

    def __init__(
        self,
        model: ember.nn.Module,
        train_loader,
        valid_loader=None,
        loss_func: Callable | None = None,
        opt_func: Callable = ember.optim.AdamW,
        metrics: Iterable[Callable] = (),
        device: Any = "auto",
        cbs: Iterable[Callback] = (),
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        *,
        lr: float = 1e-3,
        wd: float | None = None,
        splitter: Callable | None = None,
        n_inp: int = 1,
        progress: bool = True,
        path: str | os.PathLike = ".",
    ) -> None:
        self.device = _pick_device(device)
        self.model = model.to(self.device)
        self.rank, self.world_size = distributed.rank_and_world_size()
        self.train_model = distributed.wrap_model(self.model, self.world_size)
        self.train_loader = distributed.wrap_loader(train_loader, self.world_size, shuffle_default=True)
        self.valid_loader = distributed.wrap_loader(valid_loader, self.world_size, shuffle_default=False)
        self.loss_func = F.cross_entropy if loss_func is None else loss_func
        self.opt_func, self.lr, self.wd = opt_func, lr, wd
        self.splitter = default_splitter if splitter is None else splitter
        self.metrics = list(metrics)
        self.n_inp = n_inp
        self.path = str(path)
        self.checkpoint_dir = None if checkpoint_dir is None else str(checkpoint_dir)
        self.checkpoint_every = checkpoint_every
        self.opt = None
        self.scaler = None  # a GradScaler, set by MixedPrecision on CUDA
        self.training = False
        self.epoch = self.iter = self.train_iter = self.start_epoch = self.n_epoch = 0
        self.xb = self.yb = self.pred = self.loss = self.loss_grad = None
        self.dl = None
        self._pending_resume = None
        self.resuming = False
        self.cbs: list[Callback] = []
        self.recorder = Recorder()
        self.add_cbs([self.recorder] + ([ProgressBar()] if progress else []))
        if self.checkpoint_dir is not None:
            from ember.train.callbacks.checkpoint import Checkpoint

            self.add_cb(Checkpoint(self.checkpoint_dir, self.checkpoint_every))
        self.add_cbs(cbs)

    # -- callbacks -----------------------------------------------------------------------
    def add_cb(self, cb: Callback | type) -> Learner:
        """Add a callback (an instance, or a class to instantiate without arguments)."""
        if isinstance(cb, type):
            cb = cb()
        cb.learn = self
        self.cbs.append(cb)
        self._index_events()
        return self

    def add_cbs(self, cbs: Iterable[Callback]) -> Learner:
        for cb in cbs:
            self.add_cb(cb)
        return self

    def remove_cb(self, cb: Callback | type) -> Learner:
        """Remove a callback, or every callback of a class."""
        self.cbs = [c for c in self.cbs if not (c is cb or (isinstance(cb, type) and isinstance(c, cb)))]
        self._index_events()
        return self

    @contextlib.contextmanager
    def added_cbs(self, cbs: Iterable[Callback]):
        """Callbacks present only inside the block."""
        cbs = list(cbs)
        self.add_cbs(cbs)
        try:
            yield self
        finally:
            for cb in cbs:
                self.remove_cb(cb)

    @contextlib.contextmanager
    def removed_cbs(self, kind: type):
        """Callbacks of class ``kind`` are absent inside the block."""
        removed = [c for c in self.cbs if isinstance(c, kind)]
        self.remove_cb(kind)
        try:
            yield self
        finally:
            self.add_cbs(removed)

    def no_bar(self):
        """A context without progress bars or printed epoch lines."""
        return self.removed_cbs(ProgressBar)

    def cb(self, kind: type) -> Callback | None:
        """The first callback of class ``kind``, or None."""
        return next((c for c in self.cbs if isinstance(c, kind)), None)

    def _index_events(self) -> None:
        active = [c for c in self.cbs if self.rank == 0 or c.run_on_all_ranks]
        active.sort(key=lambda c: c.order)  # stable: ties keep the order they were added in
        self._handlers = {
            event: [getattr(c, event) for c in active if getattr(type(c), event, None) is not None]
            for event in EVENTS
        }

    def event(self, name: str) -> None:
        """Run the callbacks' handlers of ``name``, in order."""
        for handler in self._handlers[name]:
            handler()

    # -- optimizer and parameter groups --------------------------------------------------
    def create_opt(self) -> None:
        """Build the optimizer over the splitter's groups (frozen parameters stay in it)."""
        groups = [{"params": g} for g in self.splitter(self.model)]
        kwargs = {"lr": self.lr} if self.wd is None else {"lr": self.lr, "weight_decay": self.wd}
        self.opt = self.opt_func(groups, **kwargs)

    def set_lr(self, lr: float | Sequence[float]) -> None:
        """Set the learning rate of every group (or one per group)."""
        lrs = list(lr) if isinstance(lr, (list, tuple)) else [lr] * len(self.opt.param_groups)
        for group, value in zip(self.opt.param_groups, lrs, strict=True):
            group["lr"] = value

    def freeze_to(self, n: int) -> None:
        """Train only the parameter groups from ``n`` on (negative counts from the end)."""
        groups = self.splitter(self.model)
        for i, group in enumerate(groups):
            trainable = i >= (n % len(groups) if n < 0 else n)
            for p in group:
                p.requires_grad_(trainable)
                if not trainable:
                    p.grad = None

    def freeze(self) -> None:
        """Train only the last parameter group (the head)."""
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Train every parameter group."""
        self.freeze_to(0)

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        n_epoch: int,
        lr: float | Sequence[float] | None = None,
        wd: float | None = None,
        cbs: Iterable[Callback] = (),
        resume: bool = False,
    ) -> None:
        """Train for ``n_epoch`` epochs at learning rate ``lr`` (constant unless a callback moves it).

        ``resume=True`` continues from the newest checkpoint in ``checkpoint_dir``: model,
        optimizer, callbacks (schedules, recorder, ...), every RNG and the position within the
        epoch, so the run ends with the same numbers as if it had never stopped.
        """
        if self.opt is None:
            self.create_opt()
        if lr is not None:
            self.set_lr(lr)
        if wd is not None:
            for group in self.opt.param_groups:
                group["weight_decay"] = wd
        if resume and self.checkpoint_dir is None:
            raise ValueError("Learner.fit(resume=True) needs a checkpoint_dir to resume from")
        self.n_epoch = n_epoch
        with self.added_cbs(cbs):
            self._fit(resume)

    def fit_one_cycle(
        self,
        n_epoch: int,
        max_lr: float | Sequence[float] | None = None,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        wd: float | None = None,
        moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
        cbs: Iterable[Callback] = (),
        resume: bool = False,
    ) -> None:
        """Fit with the 1cycle policy as fastai does: ``OneCycleLR`` stepped after every step.

        The learning rate warms up from ``max_lr / div`` to ``max_lr`` over ``pct_start`` of the
        steps, then anneals (cosine) to ``max_lr / div_final``; momentum (or Adam's beta1)
        moves the other way between ``moms[0]`` and ``moms[1]``.
        """
        schedule = OneCycleSchedule(
            max_lr if max_lr is not None else self.lr, div, div_final, pct_start, moms
        )
        self.fit(n_epoch, wd=wd, cbs=[schedule, *cbs], resume=resume)

    def _fit(self, resume: bool) -> None:
        self.resuming = resume
        self.epoch = self.start_epoch = self.train_iter = 0
        try:
            self.event("before_fit")
            if resume:
                self._pending_resume = ckpt.restore_latest(self, self.checkpoint_dir)
            for epoch in range(self.start_epoch, self.n_epoch):
                self.epoch = epoch
                self._one_epoch()
        except CancelFitException:
            pass
        finally:
            self._pending_resume = None
            self.event("after_fit")

    def _one_epoch(self) -> None:
        try:
            self.event("before_epoch")
            self._train_phase()
            if self.valid_loader is not None:
                self._validate_phase(self.valid_loader)
        except CancelEpochException:
            pass
        self.event("after_epoch")

    def _train_phase(self) -> None:
        self.training, self.dl = True, self.train_loader
        self.train_model.train()
        self.event("before_train")
        batches = self._epoch_batches(self.train_loader)
        for batch in batches:
            self._one_batch(batch)
            self.iter += 1
        self.event("after_train")

    def _epoch_batches(self, loader):
        """``iter(loader)`` at this epoch's position: fast-forwarded after a resume."""
        resume, self._pending_resume = self._pending_resume, None
        distributed.set_sampler_epoch(loader, self.epoch)
        if resume is not None and resume.epoch == self.epoch:
            ckpt.set_loader_rng(loader, resume.epoch_rng)
        self.epoch_rng = ckpt.loader_rng(loader)  # what a checkpoint needs to redo this epoch's order
        batches = iter(loader)
        self.iter, self.n_iter = 0, len(loader)
        if resume is not None and resume.epoch == self.epoch:
            ckpt.skip_batches(batches, resume.iter)
            self.iter = resume.iter
            ckpt.set_rng_states(self, resume.rng)
        return batches

    def _validate_phase(self, loader) -> None:
        self.training, self.dl = False, loader
        self.model.eval()
        self.event("before_validate")
        with ember.no_grad():
            self.iter, self.n_iter = 0, len(loader)
            for batch in loader:
                self._one_batch(batch)
                self.iter += 1
        self.event("after_validate")

    def _one_batch(self, batch) -> None:
        self.xb, self.yb = self._split(batch)
        self.pred = self.loss = self.loss_grad = None
        try:
            self.event("before_batch")
            self.pred = self.train_model(*self.xb) if self.training else self.model(*self.xb)
            self.event("after_pred")
            self.loss_grad = self.loss_func(self.pred, *self.yb)
            self.loss = self.loss_grad.detach()
            self.event("after_loss")
            if self.training:
                self._backward_and_step()
        except CancelBatchException:
            pass
        if self.training:
            self.train_iter += 1
        self.event("after_batch")

    def _backward_and_step(self) -> None:
        self.event("before_backward")
        self.loss_grad.backward()
        self.event("after_backward")
        self.event("before_step")
        if self.scaler is None:
            self.opt.step()
        else:
            self.scaler.step(self.opt)
            self.scaler.update()
        self.event("after_step")
        self.opt.zero_grad()

    def _split(self, batch) -> tuple[tuple, tuple]:
        batch = tuple(batch) if isinstance(batch, (list, tuple)) else (batch,)
        if self.device.type != "cpu":
            batch = tuple(b.to(self.device) if isinstance(b, ember.Tensor) else b for b in batch)
        return batch[: self.n_inp], batch[self.n_inp :]

    # -- evaluation ------------------------------------------------------------------------
    def get_preds(self, loader=None, with_loss: bool = False):
        """``(predictions, targets)`` over ``loader`` (the validation loader by default).

        With ``with_loss=True`` a third item holds the loss of each sample (``reduction='none'``
        is asked of ``loss_func`` through ``ember.nn.functional`` losses that accept it).
        """
        loader = self.valid_loader if loader is None else loader
        if loader is None:
            raise ValueError("Learner.get_preds: there is no validation loader; pass loader=")
        preds, targets = [], []
        was_training = self.model.training
        self.model.eval()
        with ember.no_grad():
            for batch in loader:
                xb, yb = self._split(batch)
                preds.append(self.model(*xb))
                targets.append(yb[0] if len(yb) == 1 else yb)
        self.model.train(was_training)
        pred, target = ember.cat(preds), ember.cat(targets)
        if not with_loss:
            return pred, target
        return pred, target, self.loss_func(pred, target, reduction="none")

    def validate(self, loader=None) -> dict[str, float]:
        """The loss and metrics over ``loader`` (the validation loader by default)."""
        pred, target = self.get_preds(loader)
        result = {"valid_loss": float(self.loss_func(pred, target))}
        result.update(compute_metrics(self.metrics, pred, target))
        return result

    def predict(self, item) -> ember.Tensor:
        """The model's output for one sample (a batch dimension is added and removed)."""
        x = item if isinstance(item, ember.Tensor) else ember.as_tensor(item)
        was_training = self.model.training
        self.model.eval()
        with ember.no_grad():
            out = self.model(x.unsqueeze(0).to(self.device))
        self.model.train(was_training)
        return out[0]

    def interpret(self, loader=None):
        """A ``ClassificationInterpretation``: confusion matrix (numbers, plot) and top losses."""
        from ember.train.interpret import ClassificationInterpretation

        return ClassificationInterpretation.from_learner(self, loader)

    # -- learning-rate finder ----------------------------------------------------------------
    def lr_find(
        self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100, stop_div: bool = True
    ) -> Suggestions:
        """Train ``num_it`` steps with an exponentially growing learning rate; suggest one.

        Model, optimizer, recorder and every RNG are restored afterwards, so ``lr_find`` does
        not change what a following ``fit`` computes. Returns ``Suggestions`` with
        ``.valley``, ``.steep`` and ``.minimum`` (and ``.lrs``/``.losses`` and ``plot()``).
        """
        if self.opt is None:
            self.create_opt()
        saved = ckpt.snapshot(self)
        finder = LRFinder(start_lr, end_lr, num_it, stop_div)
        valid, self.valid_loader = self.valid_loader, None
        try:
            from ember.train.callbacks.checkpoint import Checkpoint

            tables = [cb for cb in self.cbs if isinstance(cb, ProgressBar) and cb.table]
            for cb in tables:
                cb.table = False
            with self.removed_cbs(Checkpoint):
                self.n_epoch = max(1, math.ceil(num_it / max(1, len(self.train_loader))))
                with self.added_cbs([finder]):
                    self._fit(resume=False)
        finally:
            for cb in tables:
                cb.table = True
            self.valid_loader = valid
            ckpt.restore_snapshot(self, saved)
        self.lr_suggestions = finder.suggestions()
        return self.lr_suggestions

    # -- saving ----------------------------------------------------------------------------
    def _file(self, name: str) -> str:
        name = os.fspath(name)
        if not name.endswith(".safetensors"):
            name += ".safetensors"
        return name if os.path.isabs(name) or os.path.dirname(name) else os.path.join(self.path, name)

    def save(self, name: str, with_opt: bool = True) -> str | None:
        """Write the model (and optimizer) state with ``ember.save``; returns the path."""
        if self.rank != 0:
            return None
        path = self._file(name)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        state = {"model": self.model.state_dict()}
        if with_opt and self.opt is not None:
            state["optimizer"] = self.opt.state_dict()
        ember.save(state, path)
        return path

    def load(self, name: str, with_opt: bool = True) -> Learner:
        """Load what ``save`` wrote (a plain state dict is read as the model's)."""
        state = ember.load(self._file(name), map_location=self.device)
        model_state = state.get("model", state) if isinstance(state, dict) else state
        self.model.load_state_dict(model_state)
        if with_opt and "optimizer" in state:
            if self.opt is None:
                self.create_opt()
            self.opt.load_state_dict(state["optimizer"])
        return self

    def __repr__(self) -> str:
        cbs = ", ".join(type(c).__name__ for c in self.cbs)
        return f"Learner(model={type(self.model).__name__}, device={self.device}, cbs=[{cbs}])"
