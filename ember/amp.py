"""``ember.amp``: ``autocast`` and ``GradScaler``, so mixed-precision training code runs.

ember does not cast ops automatically: inside ``autocast`` every op runs in its inputs' dtype
(full precision for float32 models), which changes speed, not correctness. Entering it warns
once. ``GradScaler`` implements loss scaling for real (scale, unscale, skip steps whose
gradients overflowed, grow and back off the scale); as in PyTorch, it disables itself with a
warning when asked for CUDA on a machine without a GPU, and then every call passes through.
"""

from __future__ import annotations

import functools
import math
import warnings

__all__ = ["autocast", "GradScaler"]

_warned = []


class autocast:  # noqa: N801 - PyTorch's name
    """A context manager and decorator that leaves dtypes as they are (see the module doc)."""

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True,
                 cache_enabled=None):
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, enabled

    def __enter__(self):
        if self.enabled and not _warned:
            _warned.append(True)
            warnings.warn("ember.autocast: ember does not cast ops to lower precision; ops run "
                          "in their inputs' dtypes", UserWarning, stacklevel=2)
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper


class GradScaler:
    """Dynamic loss scaling: ``scaler.scale(loss).backward(); scaler.step(opt); scaler.update()``."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if enabled and str(device).startswith("cuda"):
            from ember import cuda

            if not cuda.is_available():
                warnings.warn("GradScaler is enabled, but CUDA is not available. Disabling.",
                              UserWarning, stacklevel=2)
                enabled = False
        self._enabled, self._scale = enabled, float(init_scale)
        self._growth_factor, self._backoff_factor = growth_factor, backoff_factor
        self._growth_interval, self._growth_tracker = growth_interval, 0
        self._found_inf, self._unscaled = False, set()

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` times the current scale (tensors, or lists/tuples of them)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale, noting any inf or NaN."""
        if not self._enabled or id(optimizer) in self._unscaled:
            return
        from ember.autograd.grad_mode import no_grad

        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad.mul_(1.0 / self._scale)
                        self._found_inf |= not bool(p.grad.isfinite().all())
        self._unscaled.add(id(optimizer))

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the unscaled gradients hold inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        self.unscale_(optimizer)
        return None if self._found_inf else optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Back off the scale after an overflow, grow it after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._found_inf:
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._found_inf, self._unscaled = False, set()
        if not math.isfinite(self._scale):
            raise RuntimeError(f"GradScaler: the scale became {self._scale}")

    def state_dict(self) -> dict:
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker} if self._enabled else {}

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict:
            self._scale = state_dict["scale"]
            self._growth_tracker = state_dict.get("_growth_tracker", 0)
