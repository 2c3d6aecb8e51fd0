"""Anomaly mode: find the op whose forward or backward produced NaN or infinity."""

from __future__ import annotations

from ember.dtypes import is_floating_np

__all__ = ["detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly"]

enabled = False
_backward_depth = 0  # > 0 while a backward formula runs: its ops are checked as that node's output


def is_anomaly_enabled() -> bool:
    return enabled


class detect_anomaly:
    """Inside this block every op checks its outputs and gradients for NaN/inf.

    An error names the op and, for backward, shows where its forward was called.
    It slows every op down: use it to find a bug, not to train.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self._prev: list[bool] = []

    def __enter__(self):
        global enabled
        self._prev.append(enabled)
        enabled = self.check_nan
        return self

    def __exit__(self, *exc_info) -> None:
        global enabled
        enabled = self._prev.pop()

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Turns anomaly mode on or off; as a plain call it takes effect at once."""

    def __init__(self, mode: bool, check_nan: bool = True):
        global enabled
        super().__init__(check_nan and mode)
        self._before = enabled
        enabled = bool(mode) and check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        global enabled
        enabled = self._before


def _bad(array, xp) -> bool:
    return is_floating_np(array.dtype) and not bool(xp.isfinite(array).all())


def run_backward(node, grads) -> tuple:
    """Run ``node``'s backward formula and check its results; NaN inside it names ``node``."""
    global _backward_depth
    _backward_depth += 1
    try:
        outputs = node.apply(*grads)
    finally:
        _backward_depth -= 1
    check_backward(node, outputs)
    return outputs


def check_forward(cls, out, xp) -> None:
    if _backward_depth:
        return
    for o in out if isinstance(out, tuple) else (out,):
        if hasattr(o, "dtype") and _bad(o, xp):
            raise RuntimeError(f"Function '{cls.__name__}' returned nan or inf values in its forward output")


def check_backward(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is not None and _bad(g._data, node.xp):
            where = ""
            extras = node._extras
            if extras is not None and extras.trace:
                where = "\nThe forward call that created this node (most recent call last):\n" + "".join(
                    extras.trace[-6:]
                )
            raise RuntimeError(
                f"Function '{node.name()}' returned nan or inf values in its {i}th output "
                f"(the gradient of its input {i}).{where}"
            )
