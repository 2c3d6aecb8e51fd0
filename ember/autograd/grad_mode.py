"""Grad mode: whether ops record the graph. Held in a ContextVar, so threads and asyncio
tasks each see their own; every mode object is both a context manager and a decorator."""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar

__all__ = [
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
]

grad_enabled: ContextVar[bool] = ContextVar("ember_grad_enabled", default=True)
_inference: ContextVar[bool] = ContextVar("ember_inference_mode", default=False)


def is_grad_enabled() -> bool:
    return grad_enabled.get()


def is_inference_mode_enabled() -> bool:
    return _inference.get()


class _GradMode:
    """Sets grad mode on entry and restores the previous one on exit; reusable and nestable."""

    enabled = False
    inference = None

    def __init__(self):
        self._tokens: list = []

    def __enter__(self):
        token = grad_enabled.set(self.enabled)
        itoken = _inference.set(self.inference) if self.inference is not None else None
        self._tokens.append((token, itoken))
        return self

    def __exit__(self, *exc_info) -> None:
        token, itoken = self._tokens.pop()
        grad_enabled.reset(token)
        if itoken is not None:
            _inference.reset(itoken)

    def clone(self):
        return type(self)()

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                while True:
                    with self.clone():
                        try:
                            value = next(gen)
                        except StopIteration as stop:
                            return stop.value
                    yield value

            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper


class _BareDecoratable(_GradMode):
    """A mode usable as ``@mode()`` and also as a bare ``@mode``, as PyTorch allows."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {orig_func!r}")
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        super().__init__()


class no_grad(_BareDecoratable):
    """Ops inside record no graph; results have ``requires_grad=False``.

    >>> import ember
    >>> x = ember.ones(2, requires_grad=True)
    >>> with ember.no_grad():
    ...     (x * 2).requires_grad
    False
    """

    enabled = False


class enable_grad(_BareDecoratable):
    """Turns recording back on inside a ``no_grad`` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Sets grad mode; works as a plain call, a context manager or a decorator."""

    def __init__(self, mode: bool):
        super().__init__()
        self.enabled = bool(mode)
        self._prev = grad_enabled.get()
        grad_enabled.set(self.enabled)  # a plain call takes effect at once, as in PyTorch

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        grad_enabled.set(self._prev)

    def __call__(self, func):
        grad_enabled.set(self._prev)  # decorating must not change the mode of the caller
        return super().__call__(func)

    def clone(self):
        return _Fixed(self.enabled)


class _Fixed(_GradMode):
    def __init__(self, mode: bool):
        super().__init__()
        self.enabled = mode


class inference_mode(_GradMode):
    """Like ``no_grad`` (ember keeps no extra bookkeeping to skip); ``mode=False`` is a no-op."""

    def __init__(self, mode: bool = True):
        super().__init__()
        self.mode = bool(mode)
        self.enabled = not self.mode if self.mode else grad_enabled.get()
        self.inference = self.mode

    def __enter__(self):
        if not self.mode:
            self._tokens.append((grad_enabled.set(grad_enabled.get()), None))
            return self
        return super().__enter__()

    def clone(self):
        return inference_mode(self.mode)
