"""Engine switches PyTorch exposes that ember's single-threaded, contiguous engine honours
trivially: ``set_multithreading_enabled`` and ``enforce_grad_layout_policy``.

Both record their mode (thread-local, like PyTorch's), work as a plain call, a context manager
or a decorator, and change nothing else: ember's backward always runs on the calling thread
and its gradients are always contiguous, which is what the "disabled" and "enforced" modes ask.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar

__all__ = ["enforce_grad_layout_policy", "is_multithreading_enabled", "set_multithreading_enabled"]

_multithreading: ContextVar[bool] = ContextVar("ember_multithreading", default=True)
_layout_policy: ContextVar[bool] = ContextVar("ember_grad_layout_policy", default=True)


class _Switch:
    """Set ``_var`` to ``mode`` at once; restore the previous value on ``__exit__``."""

    _var: ContextVar

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = self._var.get()
        self._var.set(self.mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info) -> None:
        self._var.set(self.prev)

    def clone(self):
        self._var.set(self.prev)  # cloning (to decorate) must not keep the mode on
        return type(self)(self.mode)

    def __call__(self, func):
        self._var.set(self.prev)

        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            with type(self)(self.mode):
                return func(*args, **kwargs)

        return wrapped


class set_multithreading_enabled(_Switch):
    """Whether backward may use worker threads; ember's backward always runs on the calling
    thread, so the flag is only recorded.

    >>> with set_multithreading_enabled(False):
    ...     is_multithreading_enabled()
    False
    """

    _var = _multithreading


class enforce_grad_layout_policy(_Switch):
    """Whether accumulated gradients must match their parameter's layout; ember's always do.

    >>> with enforce_grad_layout_policy(False):
    ...     pass
    """

    _var = _layout_policy

    def __init__(self, enable: bool = True) -> None:
        super().__init__(enable)


def is_multithreading_enabled() -> bool:
    """The mode last set by ``set_multithreading_enabled`` (True by default)."""
    return _multithreading.get()
