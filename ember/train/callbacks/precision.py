"""``MixedPrecision``: autocast and a GradScaler on CUDA; on the CPU it does nothing, and says so.

ember's automatic mixed precision (``ember.autocast`` / ``ember.amp``) is being built by another
part of the project. This callback looks it up at ``before_fit``: when the device is CUDA and
``ember.amp.GradScaler`` and an autocast context (``ember.autocast`` or
``ember.amp.autocast``) exist, it uses them; otherwise training runs in float32 with a warning.
"""

from __future__ import annotations

import warnings

import ember
from ember.train.callbacks.core import Callback

__all__ = ["MixedPrecision"]


def _amp_parts():
    amp = getattr(ember, "amp", None)
    autocast = getattr(ember, "autocast", None) or getattr(amp, "autocast", None)
    scaler = getattr(amp, "GradScaler", None)
    return autocast, scaler


class MixedPrecision(Callback):
    """Forward pass and loss under ``autocast(dtype)``, loss scaling with a ``GradScaler``."""

    order = -5  # unscale before GradientClip reads the gradients

    def __init__(self, dtype=None) -> None:
        self.dtype = dtype
        self.active = False
        self._context = None
        self._scaler_state = None

    def before_fit(self) -> None:
        learn = self.learn
        self.active = False
        if learn.device.type != "cuda":
            warnings.warn(
                "MixedPrecision: training on the CPU stays in float32 (autocast and "
                "GradScaler apply on CUDA only)",
                stacklevel=2,
            )
            return
        autocast, scaler_class = _amp_parts()
        if autocast is None or scaler_class is None:
            warnings.warn(
                "MixedPrecision: this ember has no ember.amp (autocast, GradScaler) yet; training in float32",
                stacklevel=2,
            )
            return
        self._autocast = autocast
        learn.scaler = scaler_class()
        if self._scaler_state is not None:
            learn.scaler.load_state_dict(self._scaler_state)
        self.active = True

    def before_batch(self) -> None:
        if self.active:
            kwargs = (
                {"device_type": "cuda"}
                if self.dtype is None
                else {"device_type": "cuda", "dtype": self.dtype}
            )
            self._context = self._autocast(**kwargs)
            self._context.__enter__()

    def after_loss(self) -> None:
        self._exit()

    def after_batch(self) -> None:
        self._exit()  # a batch cancelled before its loss

    def _exit(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None

    def before_backward(self) -> None:
        if self.active:
            self.learn.loss_grad = self.learn.scaler.scale(self.learn.loss_grad)

    def before_step(self) -> None:
        if self.active:
            self.learn.scaler.unscale_(self.learn.opt)

    def after_fit(self) -> None:
        self._exit()
        if self.active:
            self._scaler_state = self.learn.scaler.state_dict()
            self.learn.scaler = None

    def state_dict(self) -> dict:
        scaler = self.learn.scaler if self.learn is not None else None
        return {} if scaler is None else {"scaler": scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "scaler" in state:
            self._scaler_state = state["scaler"]
            if self.learn is not None and self.learn.scaler is not None:
                self.learn.scaler.load_state_dict(state["scaler"])
